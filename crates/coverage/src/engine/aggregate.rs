//! Summing the masks per municipality and technology.

use funkplan_model::CoverageSource;

use super::{threads, Masks, Rect};
use crate::grid::{Grid, Mask, ReportedLayer, NO_MUNI, UNKNOWN};
use crate::model::combine;

/// One operator's figures in a municipality and technology.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OperatorFigures {
    /// The operator's bit.
    pub bit: u8,
    /// Households the operator covers.
    pub households_covered: f64,
    /// Cells the operator covers.
    pub cells_covered: u32,
}

/// Figures of one municipality and technology.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TechFigures {
    /// Households in the municipality.
    pub households: f64,
    /// Households covered by at least one operator.
    pub households_covered: f64,
    /// Grid cells in the municipality.
    pub cells: u32,
    /// Cells covered by at least one operator.
    pub cells_covered: u32,
    /// Cells with no operator.
    pub dead_cells: u32,
    /// Cells with exactly one operator.
    pub grey_cells: u32,
    /// Per operator (every bit in the engine's operator list), only when
    /// the operator set of every cell of the municipality is known.
    pub operators: Option<Vec<OperatorFigures>>,
}

/// Per municipality index, per technology (engine order).
pub type Figures = Vec<[TechFigures; 2]>;

#[derive(Clone)]
struct Acc {
    hh: f64,
    hh_cov: f64,
    cells: u32,
    cov: u32,
    dead: u32,
    grey: u32,
    known: bool,
    op_hh: [f64; 16],
    op_cells: [u32; 16],
}

impl Default for Acc {
    fn default() -> Self {
        Self { hh: 0.0, hh_cov: 0.0, cells: 0, cov: 0, dead: 0, grey: 0, known: true, op_hh: [0.0; 16], op_cells: [0; 16] }
    }
}

impl Acc {
    fn merge(&mut self, o: &Self) {
        self.hh += o.hh;
        self.hh_cov += o.hh_cov;
        self.cells += o.cells;
        self.cov += o.cov;
        self.dead += o.dead;
        self.grey += o.grey;
        self.known &= o.known;
        for i in 0..16 {
            self.op_hh[i] += o.op_hh[i];
            self.op_cells[i] += o.op_cells[i];
        }
    }
}

/// What to sum: which source, actual or scenario, which municipalities
/// (`None` = all) within which rectangle (must hold all their cells).
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// Which coverage counts (reported, modelled or their union).
    pub source: CoverageSource,
    /// The scenario (`actual | extra`) rather than the actual masks.
    pub scenario: bool,
    /// Flags per municipality index; `None` = all.
    pub munis: Option<&'a [bool]>,
    /// The slots to sum over.
    pub region: Rect,
}

/// Sum per municipality and technology, actual or scenario as
/// `sc.scenario` says. Municipalities outside the scope come back with zero
/// figures (callers keep only those in scope). The product path wants both
/// and calls [`aggregate_pair`]; this is the one-sided view of it (for the
/// criterion benches and tests), not a second summing loop to keep equal.
///
/// # Examples
/// ```
/// # use funkplan_coverage::engine::{aggregate, stamp, Masks, Rect, Scope};
/// # use funkplan_coverage::grid::{Grid, GridInput};
/// # use funkplan_coverage::model::{Model, Site};
/// # fn main() -> Result<(), funkplan_coverage::Error> {
/// // A 1 km × 1 km grid of 100 cells, one household each, one municipality.
/// let mut input = GridInput { ags: vec!["05000001".into()], ..Default::default() };
/// for n in 0..10 {
///     for e in 0..10 {
///         input.cells.push((n, e, 0));
///         input.households.push((n, e, 1.0));
///     }
/// }
/// let grid = Grid::build(input)?;
/// // Radii [[LTE rural, urban], [5G rural, urban]]; urban above 400 households/km² within 1 km.
/// let model = Model { radius_m: [[150.0, 100.0], [100.0, 50.0]], urban_households_per_km2: 400.0, urban_density_radius_m: 1000.0 };
/// // One LTE site of operator bit 2 in the middle of cell (5, 5).
/// let mut sites = vec![Site {
///     id: "S1".into(), bit: 2, x: 550.0, y: 550.0,
///     on_air: [true, false], scenario: [true, false], since: [None, None], urban: false,
/// }];
/// use funkplan_coverage::CoverageSource;
/// let mut masks = Masks::new(&grid);
/// stamp(&grid, &model, &sites, &mut masks, Rect::all(&grid));
/// let scope = Scope { source: CoverageSource::Modelled, scenario: false, munis: None, region: Rect::all(&grid) };
/// let figures = aggregate(&grid, &masks, &[2], scope);
/// // Municipality 0, LTE: 9 of 100 cells covered, by one operator each.
/// let lte = &figures[0][0];
/// assert_eq!((lte.cells, lte.cells_covered, lte.dead_cells, lte.grey_cells), (100, 9, 91, 9));
/// assert_eq!(lte.households_covered, 9.0);
/// assert_eq!(lte.operators.as_ref().map(|o| o[0].cells_covered), Some(9));
/// # let _ = &mut sites;
/// # Ok(())
/// # }
/// ```
#[must_use]
pub fn aggregate(grid: &Grid, masks: &Masks, operator_bits: &[u8], sc: Scope<'_>) -> Figures {
    let (actual, scenario) = aggregate_pair(grid, masks, operator_bits, sc);
    if sc.scenario {
        scenario
    } else {
        actual
    }
}

/// Actual and scenario figures in one pass over the slots: each slot's
/// municipality, households and reported layers are read once for both.
/// `sc.scenario` is ignored.
#[must_use]
pub fn aggregate_pair(grid: &Grid, masks: &Masks, operator_bits: &[u8], sc: Scope<'_>) -> (Figures, Figures) {
    aggregate_with(grid, &grid.reported, masks, operator_bits, sc)
}

/// [`aggregate_pair`] with the reported layers given rather than the
/// grid's latest ones: the layers of an older release (see
/// [`Releases::layers_at`](crate::releases::Releases::layers_at)), or
/// empty layers for a date before the first release.
#[must_use]
pub fn aggregate_with(grid: &Grid, reported: &[ReportedLayer; 2], masks: &Masks, operator_bits: &[u8], sc: Scope<'_>) -> (Figures, Figures) {
    let t = threads();
    let region = sc.region;
    let nm = grid.ags.len();
    let band = (region.r1.saturating_sub(region.r0)).div_ceil(t).max(1);
    let parts: Vec<Vec<[[Acc; 2]; 2]>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..t)
            .map(|i| {
                let r0 = region.r0 + i * band;
                let r1 = (r0 + band).min(region.r1);
                scope.spawn(move || {
                    let mut acc: Vec<[[Acc; 2]; 2]> = vec![Default::default(); nm];
                    match sc.source {
                        CoverageSource::Modelled => sum_rows_pair(grid, reported, masks, operator_bits, sc, r0, r1, &mut acc, |rc, rm, m| {
                            combine(CoverageSource::Modelled, rc, rm, m)
                        }),
                        CoverageSource::Reported => sum_rows_pair(grid, reported, masks, operator_bits, sc, r0, r1, &mut acc, |rc, rm, m| {
                            combine(CoverageSource::Reported, rc, rm, m)
                        }),
                        CoverageSource::Union => sum_rows_pair(grid, reported, masks, operator_bits, sc, r0, r1, &mut acc, |rc, rm, m| {
                            combine(CoverageSource::Union, rc, rm, m)
                        }),
                    }
                    acc
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    let mut total: Vec<[[Acc; 2]; 2]> = vec![Default::default(); nm];
    for p in &parts {
        for (m, a) in p.iter().enumerate() {
            for (tot, part) in total[m].iter_mut().zip(a) {
                tot[0].merge(&part[0]);
                tot[1].merge(&part[1]);
            }
        }
    }
    let mut actual = Vec::with_capacity(nm);
    let mut scenario = Vec::with_capacity(nm);
    for (m, [[l, n], [sl, sn]]) in total.into_iter().enumerate() {
        // Out of scope: zero, as an untouched accumulator finishes (and
        // without its allocations: the incremental update sums box by box,
        // each call with a few municipalities in scope of hundreds).
        if sc.munis.is_some_and(|f| !f[m]) {
            actual.push(Default::default());
            scenario.push(Default::default());
            continue;
        }
        actual.push([finish(&l, operator_bits), finish(&n, operator_bits)]);
        scenario.push([finish(&sl, operator_bits), finish(&sn, operator_bits)]);
    }
    (actual, scenario)
}

/// Add `n` cells of one coverage state holding `h` households in all to
/// an accumulator. Branch-light: counters take 0/n from comparisons,
/// covered households add `h` or `0.0`, per-operator sums walk the
/// operator bits.
#[inline(always)]
fn add_cells(a: &mut Acc, h: f64, n: u32, count: u8, set: Option<Mask>, operator_bits: &[u8]) {
    let covered = count > 0;
    a.hh += h;
    a.cells += n;
    a.dead += n * u32::from(count == 0);
    a.grey += n * u32::from(count == 1);
    a.cov += n * u32::from(covered);
    a.hh_cov += if covered { h } else { 0.0 };
    match set {
        Some(s) => {
            for &b in operator_bits {
                let b = usize::from(b) & 15;
                let on = (s >> b) & 1 != 0;
                a.op_hh[b] += if on { h } else { 0.0 };
                a.op_cells[b] += n * u32::from(on);
            }
        }
        None => a.known = false,
    }
}

/// Everything that decides a slot's figures but its households, packed
/// in two words: municipality and reported LTE/5G counts and sets, and the
/// modelled actual and extra sets of LTE and 5G. Equal keys = equal
/// coverage state.
#[inline(always)]
fn state_key(grid: &Grid, reported: &[ReportedLayer; 2], masks: &Masks, has_reported: bool, slot: usize) -> (u64, u64) {
    let (reported, counts) = if has_reported {
        let [l, n] = reported;
        (
            u64::from(l.mask[slot]) | u64::from(n.mask[slot]) << 16,
            u64::from(l.count[slot]) << 16 | u64::from(n.count[slot]) << 24,
        )
    } else {
        (u64::from(UNKNOWN) | u64::from(UNKNOWN) << 16, 0)
    };
    let k1 = u64::from(grid.muni[slot]) | counts | reported << 32;
    let [a0, a1] = &masks.actual;
    let [x0, x1] = &masks.extra;
    let k2 = u64::from(a0[slot]) | u64::from(x0[slot]) << 16 | u64::from(a1[slot]) << 32 | u64::from(x1[slot]) << 48;
    (k1, k2)
}

/// Sum rows `r0..r1` of the scope's region into `acc`, actual
/// (`acc[m][0]`) and scenario (`acc[m][1]`) at once. Within each row only
/// the columns between the row's first and last grid cell are visited
/// ([`Grid::row_span`]).
///
/// Why by runs: neighbouring cells mostly share their whole coverage state
/// (a disk is kilometres wide), so a row is read as runs of equal
/// [`state_key`] and each run's households are summed first; the state is
/// combined and counted once per run instead of once per cell.
#[allow(clippy::too_many_arguments)]
#[inline]
fn sum_rows_pair(
    grid: &Grid,
    reported: &[ReportedLayer; 2],
    masks: &Masks,
    operator_bits: &[u8],
    sc: Scope<'_>,
    r0: usize,
    r1: usize,
    acc: &mut [[[Acc; 2]; 2]],
    comb: impl Fn(u8, Mask, Mask) -> (u8, Option<Mask>),
) {
    let region = sc.region;
    let has_reported = !reported[0].count.is_empty();
    let mut add_run = |(k1, k2): (u64, u64), h: f64, n: u32| {
        #[allow(clippy::cast_possible_truncation)] // fields of the key
        let field = |k: u64, at: u32, bits: u32| (k >> at) as u32 & ((1 << bits) - 1);
        #[allow(clippy::cast_possible_truncation)]
        let m = field(k1, 0, 16) as u16;
        if m == NO_MUNI || sc.munis.is_some_and(|f| !f[usize::from(m)]) {
            return;
        }
        let [actual, scenario] = &mut acc[usize::from(m)];
        for tech in 0..2u32 {
            #[allow(clippy::cast_possible_truncation)]
            let (rc, rm) = (field(k1, 16 + 8 * tech, 8) as u8, field(k1, 32 + 16 * tech, 16) as Mask);
            #[allow(clippy::cast_possible_truncation)]
            let (ma, mx) = (field(k2, 32 * tech, 16) as Mask, field(k2, 32 * tech + 16, 16) as Mask);
            let t = tech as usize;
            let (count, set) = comb(rc, rm, ma);
            add_cells(&mut actual[t], h, n, count, set, operator_bits);
            let (count, set) = if mx & !ma == 0 { (count, set) } else { comb(rc, rm, ma | mx) };
            add_cells(&mut scenario[t], h, n, count, set, operator_bits);
        }
    };
    for row in r0..r1 {
        let base = row * grid.cols;
        let (c0, c1) = grid.row_span(row);
        let (c0, c1) = (c0.max(region.c0), c1.min(region.c1));
        if c0 >= c1 {
            continue;
        }
        let mut key = state_key(grid, reported, masks, has_reported, base + c0);
        let (mut h, mut n) = (0.0f64, 0u32);
        for slot in base + c0..base + c1 {
            let k = state_key(grid, reported, masks, has_reported, slot);
            if k != key {
                add_run(key, h, n);
                (key, h, n) = (k, 0.0, 0);
            }
            h += f64::from(grid.households[slot]);
            n += 1;
        }
        add_run(key, h, n);
    }
}

fn finish(a: &Acc, bits: &[u8]) -> TechFigures {
    TechFigures {
        households: a.hh,
        households_covered: a.hh_cov,
        cells: a.cells,
        cells_covered: a.cov,
        dead_cells: a.dead,
        grey_cells: a.grey,
        operators: a.known.then(|| {
            bits.iter()
                .map(|&b| OperatorFigures {
                    bit: b,
                    households_covered: a.op_hh[usize::from(b)],
                    cells_covered: a.op_cells[usize::from(b)],
                })
                .collect()
        }),
    }
}

/// Per slot, whether a grid cell has no LTE from any operator (actual).
#[inline]
#[must_use]
pub fn lte_dead(grid: &Grid, masks: &Masks, source: CoverageSource, slot: usize) -> bool {
    let (rc, rm) = grid.reported[0].at(slot);
    combine(source, rc, rm, masks.actual[0][slot]).0 == 0
}
