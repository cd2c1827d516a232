//! The in-memory columnar grid: one slot per 100 m cell of the bounding box
//! of all grid cells, stored as flat `Vec`s indexed by
//! `(n - n0) * cols + (e - e0)`.
//!
//! Why dense over the bounding box rather than a compact list of cells: disk
//! stamping then walks contiguous runs of slots per row with no lookup, and
//! neighbours (dead-spot components) are one index step away. NRW's box is
//! about 7.3 M slots for 3.4 M cells; at ~16 bytes a slot that is ~120 MB,
//! affordable for a server that keeps the grid resident.

use funkplan_model::Technology;

use crate::releases::{Releases, Version};
use crate::{Error, Result};

/// An operator set: bit `operator.bit` set when that operator covers.
/// Bits 0..=14 are usable; the all-ones value is reserved for "unknown".
pub type Mask = u16;
/// The reported mask value meaning "operators not known, count only".
pub const UNKNOWN: Mask = Mask::MAX;
/// Highest operator bit the engine supports.
pub const MAX_BIT: u8 = 14;
/// Municipality index of a slot that is no grid cell.
pub const NO_MUNI: u16 = u16::MAX;
/// Municipality index, in [`GridInput::cells`], of a *context* cell: a grid
/// cell of a municipality outside the state loaded, near its border (issue
/// 24). Its households count for the urban/rural rule of the sites near the
/// border, exactly as in a grid of all states, so a state's figures are
/// the same alone or as part of Germany; it belongs to no municipality of
/// the grid (its slot stays [`NO_MUNI`]), so no figure counts it.
pub const CONTEXT: u16 = u16::MAX - 1;

/// Technologies in engine order: index 0 = LTE, 1 = 5G.
pub const TECHNOLOGIES: [Technology; 2] = [Technology::Lte, Technology::Nr];
/// [`TECHNOLOGIES`] as spelled in the database.
pub const TECHS: [&str; 2] = [TECHNOLOGIES[0].as_str(), TECHNOLOGIES[1].as_str()];

/// Reported coverage of one technology, per slot. Empty vectors when the
/// imported grid has no rows at all (every cell then counts 0 operators).
#[derive(Debug, Clone, Default)]
pub struct ReportedLayer {
    /// Operators covering the cell as published (0 where no row).
    pub count: Vec<u8>,
    /// The operator set where the file gives it, else [`UNKNOWN`].
    pub mask: Vec<Mask>,
}

impl ReportedLayer {
    /// Count and mask at a slot (`0`, [`UNKNOWN`] when no data).
    #[inline]
    #[must_use]
    pub fn at(&self, slot: usize) -> (u8, Mask) {
        if self.count.is_empty() {
            (0, UNKNOWN)
        } else {
            (self.count[slot], self.mask[slot])
        }
    }
}

/// The grid: geometry of the box, per-slot municipality and households, and
/// the reported layers.
#[derive(Debug, Clone)]
pub struct Grid {
    /// Northing/100 of the box's first row.
    pub n0: i32,
    /// Easting/100 of the box's first column.
    pub e0: i32,
    /// Rows of the box.
    pub rows: usize,
    /// Columns of the box.
    pub cols: usize,
    /// Municipality index per slot ([`NO_MUNI`] outside every municipality).
    pub muni: Vec<u16>,
    /// Households per slot (0 where unknown).
    pub households: Vec<f32>,
    /// Reported coverage per technology (engine order, see [`TECHS`]) of
    /// the latest release: what "now" counts.
    pub reported: [ReportedLayer; 2],
    /// The release dates and how to rewind [`Grid::reported`] to each older
    /// release (see [`crate::releases`]).
    pub releases: Releases,
    /// AGS of each municipality index, sorted.
    pub ags: Vec<String>,
    /// Per municipality: bounding box of its cells in slot coordinates
    /// `[row0, row1, col0, col1]` (inclusive); `None` for no cells.
    pub muni_box: Vec<Option<[usize; 4]>>,
    /// Number of grid cells (slots with a municipality).
    pub cells: usize,
    /// Per row, the half-open column range from its first to its last grid
    /// cell (`(0, 0)` for a row without cells): loops over the grid skip
    /// the empty ends of the rows (the box of NRW is half empty).
    pub row_spans: Vec<(u32, u32)>,
    /// The AGS prefix (a state, `05` = NRW) the grid was loaded for;
    /// `None` when it holds every municipality of the database. A full
    /// results write then replaces the figures of these municipalities
    /// only, not the other states' (issue 24).
    pub scope: Option<String>,
}

/// Rows as read from the database, before they become a dense grid.
#[derive(Debug, Default, Clone)]
pub struct GridInput {
    /// AGS of every municipality (any order; the grid sorts them).
    pub ags: Vec<String>,
    /// `(n, e, municipality index into ags)`, or [`CONTEXT`] for a cell of
    /// a municipality outside the scope.
    pub cells: Vec<(i32, i32, u16)>,
    /// `(n, e, households)`; cells outside the grid are ignored.
    pub households: Vec<(i32, i32, f32)>,
    /// `(n, e, lte_count, nr_count, lte_mask, nr_mask)` with [`UNKNOWN`]
    /// where the mask is NULL.
    pub reported: Vec<(i32, i32, u8, u8, Mask, Mask)>,
    /// Dates of the coverage releases (`coverage_release.as_of`); empty
    /// with reported rows = undated (in force at every date).
    pub release_dates: Vec<chrono::NaiveDate>,
    /// The versions that tell older releases apart from the latest
    /// (`reported_coverage_version`; see [`Releases::build`]).
    pub versions: Vec<Version>,
}

impl Grid {
    /// Build the dense grid from rows.
    ///
    /// # Errors
    /// When the box would be absurdly large (more than 2^31 slots) or there
    /// are more than 65,533 municipalities.
    pub fn build(mut input: GridInput) -> Result<Self> {
        if input.ags.len() >= usize::from(CONTEXT) {
            return Err(Error::Data(format!("{} municipalities; the engine supports at most 65,533", input.ags.len())));
        }
        // Sort municipalities by AGS and remap cell indices.
        let mut order: Vec<usize> = (0..input.ags.len()).collect();
        order.sort_by(|&a, &b| input.ags[a].cmp(&input.ags[b]));
        let mut remap = vec![0u16; input.ags.len()];
        for (new, &old) in order.iter().enumerate() {
            remap[old] = u16::try_from(new).map_err(|_| Error::Data("too many municipalities".into()))?;
        }
        let ags: Vec<String> = order.iter().map(|&i| std::mem::take(&mut input.ags[i])).collect();

        let (mut nmin, mut nmax, mut emin, mut emax) = (i32::MAX, i32::MIN, i32::MAX, i32::MIN);
        for &(n, e, _) in &input.cells {
            nmin = nmin.min(n);
            nmax = nmax.max(n);
            emin = emin.min(e);
            emax = emax.max(e);
        }
        if input.cells.is_empty() {
            (nmin, nmax, emin, emax) = (0, -1, 0, -1);
        }
        let rows = usize::try_from(i64::from(nmax) - i64::from(nmin) + 1).unwrap_or(0);
        let cols = usize::try_from(i64::from(emax) - i64::from(emin) + 1).unwrap_or(0);
        let slots = rows.checked_mul(cols).filter(|&s| s < (1 << 31)).ok_or_else(|| {
            Error::Data(format!("grid box of {rows} × {cols} cells is too large; are grid_cell coordinates in hectometres of EPSG:25832?"))
        })?;
        let mut grid = Self {
            n0: nmin,
            e0: emin,
            rows,
            cols,
            muni: vec![NO_MUNI; slots],
            households: vec![0.0; slots],
            reported: [ReportedLayer::default(), ReportedLayer::default()],
            releases: Releases::default(),
            muni_box: vec![None; ags.len()],
            ags,
            cells: 0,
            row_spans: Vec::new(),
            scope: None,
        };
        // Context slots (empty when there are none): households kept.
        let mut context: Vec<bool> = Vec::new();
        for &(n, e, m) in &input.cells {
            let Some(slot) = grid.slot(n, e) else { continue };
            if m == CONTEXT {
                if context.is_empty() {
                    context = vec![false; slots];
                }
                context[slot] = true;
                continue;
            }
            let m = *remap.get(usize::from(m)).ok_or_else(|| Error::Data(format!("grid cell ({n}, {e}) of municipality index {m}, beyond the list")))?;
            if grid.muni[slot] == NO_MUNI {
                grid.cells += 1;
            }
            grid.muni[slot] = m;
            let (r, c) = (slot / cols, slot % cols);
            let b = grid.muni_box[usize::from(m)].get_or_insert([r, r, c, c]);
            b[0] = b[0].min(r);
            b[1] = b[1].max(r);
            b[2] = b[2].min(c);
            b[3] = b[3].max(c);
        }
        grid.row_spans = grid
            .muni
            .chunks(cols.max(1))
            .take(rows)
            .map(|row| {
                let first = row.iter().position(|&m| m != NO_MUNI);
                let last = row.iter().rposition(|&m| m != NO_MUNI);
                match (first, last) {
                    #[allow(clippy::cast_possible_truncation)] // cols < 2^31
                    (Some(a), Some(b)) => (a as u32, b as u32 + 1),
                    _ => (0, 0),
                }
            })
            .collect();
        for &(n, e, h) in &input.households {
            if let Some(slot) = grid.slot(n, e) {
                if (grid.muni[slot] != NO_MUNI || context.get(slot) == Some(&true)) && h.is_finite() && h > 0.0 {
                    grid.households[slot] = h;
                }
            }
        }
        if !input.reported.is_empty() {
            for layer in &mut grid.reported {
                layer.count = vec![0; slots];
                layer.mask = vec![UNKNOWN; slots];
            }
            for &(n, e, lc, nc, lm, nm) in &input.reported {
                if let Some(slot) = grid.slot(n, e) {
                    grid.reported[0].count[slot] = lc;
                    grid.reported[0].mask[slot] = lm;
                    grid.reported[1].count[slot] = nc;
                    grid.reported[1].mask[slot] = nm;
                }
            }
        }
        let releases = Releases::build(std::mem::take(&mut input.release_dates), &input.versions, !input.reported.is_empty(), |n, e| grid.slot(n, e))?;
        grid.releases = releases;
        Ok(grid)
    }

    /// Slot of cell `(n, e)`, if inside the box.
    #[inline]
    #[must_use]
    pub fn slot(&self, n: i32, e: i32) -> Option<usize> {
        let r = usize::try_from(n.checked_sub(self.n0)?).ok()?;
        let c = usize::try_from(e.checked_sub(self.e0)?).ok()?;
        (r < self.rows && c < self.cols).then(|| r * self.cols + c)
    }

    /// The half-open column range of row `row` holding all its grid cells.
    #[inline]
    #[must_use]
    pub fn row_span(&self, row: usize) -> (usize, usize) {
        let (a, b) = self.row_spans[row];
        (a as usize, b as usize)
    }

    /// Number of slots of the box.
    #[must_use]
    pub fn slots(&self) -> usize {
        self.rows * self.cols
    }

    /// Municipality index of an AGS.
    #[must_use]
    pub fn muni_index(&self, ags: &str) -> Option<u16> {
        self.ags.binary_search_by(|a| a.as_str().cmp(ags)).ok().and_then(|i| u16::try_from(i).ok())
    }

    /// Whether any reported coverage was loaded.
    #[must_use]
    pub fn has_reported(&self) -> bool {
        !self.reported[0].count.is_empty()
    }
}
