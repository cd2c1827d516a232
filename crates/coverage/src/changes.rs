//! What changed in one municipality between two dates (issue 16): per
//! technology the cells and households gained and lost, the dead cells
//! before and after, and the gained and lost areas as polygons.
//!
//! "Covered at a date" is [`crate::dated::figures_at`]'s rule (the release
//! in force then, the sites on air then, combined per source), so the
//! gains minus the losses are exactly the change of that function's
//! figures between the two dates.

use chrono::NaiveDate;
use funkplan_model::CoverageSource;

use crate::dated::sites_at;
use crate::deadspot::areas;
use crate::engine::{stamp, Masks, Rect};
use crate::grid::{Grid, ReportedLayer};
use crate::model::{combine, Model, Site};

/// A 4-connected area of changed cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    /// Cells in the area.
    pub cells: u32,
    /// Rings in EPSG:25832 metres, closed (first point = last); the first
    /// is the outer ring (counter-clockwise), the rest holes.
    pub rings: crate::deadspot::Rings,
}

/// The changes of one technology.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TechChanges {
    /// Cells covered at `to` but not at `from`.
    pub cells_gained: u32,
    /// Cells covered at `from` but not at `to`.
    pub cells_lost: u32,
    /// Households in the cells gained.
    pub households_gained: f64,
    /// Households in the cells lost.
    pub households_lost: f64,
    /// Cells no operator covers at `from` (dead spots: × 0.01 km²).
    pub dead_cells_before: u32,
    /// Cells no operator covers at `to`.
    pub dead_cells_after: u32,
    /// The areas gained, in row-major order of their first cell.
    pub gained: Vec<Area>,
    /// The areas lost.
    pub lost: Vec<Area>,
}

impl TechChanges {
    /// Area gained in km² (a cell is 0.01 km²).
    #[must_use]
    pub fn area_gained_km2(&self) -> f64 {
        f64::from(self.cells_gained) * 0.01
    }
    /// Area lost in km².
    #[must_use]
    pub fn area_lost_km2(&self) -> f64 {
        f64::from(self.cells_lost) * 0.01
    }
    /// Dead-spot area at `from` in km².
    #[must_use]
    pub fn dead_area_before_km2(&self) -> f64 {
        f64::from(self.dead_cells_before) * 0.01
    }
    /// Dead-spot area at `to` in km².
    #[must_use]
    pub fn dead_area_after_km2(&self) -> f64 {
        f64::from(self.dead_cells_after) * 0.01
    }
}

/// What changed in a municipality between two dates.
#[derive(Debug, Clone, PartialEq)]
pub struct Changes {
    /// The earlier date.
    pub from: NaiveDate,
    /// The later date.
    pub to: NaiveDate,
    /// The release in force at `from` (`None`: none yet, or undated).
    pub release_from: Option<NaiveDate>,
    /// The release in force at `to`.
    pub release_to: Option<NaiveDate>,
    /// The source compared.
    pub source: CoverageSource,
    /// Per technology (LTE, 5G).
    pub tech: [TechChanges; 2],
}

/// The reported layers and modelled masks at a date, for `region`.
fn state_at<'a>(
    grid: &'a Grid,
    model: &Model,
    sites: &[Site],
    date: NaiveDate,
    source: CoverageSource,
    region: Rect,
) -> (std::borrow::Cow<'a, [ReportedLayer; 2]>, Masks) {
    let layers = grid.releases.layers_at(&grid.reported, grid.slots(), date);
    let mut masks = Masks::new(grid);
    if source != CoverageSource::Reported {
        stamp(grid, model, &sites_at(sites, date), &mut masks, region);
    }
    (layers, masks)
}

/// What changed in municipality `muni` (index into [`Grid::ags`]) from
/// `from` to `to` for `source`. `sites` must be classified. A
/// municipality without cells has no changes.
///
/// # Examples
/// ```
/// use chrono::NaiveDate;
/// use funkplan_coverage::changes::changes;
/// use funkplan_coverage::grid::{Grid, GridInput, UNKNOWN};
/// use funkplan_coverage::model::Model;
/// use funkplan_coverage::releases::{CellValue, Version};
/// use funkplan_coverage::CoverageSource;
/// # fn main() -> Result<(), funkplan_coverage::Error> {
/// let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
/// // A row of 10 cells, two households each. Release 2023-01-01 reports
/// // 5G in cells 0..6; the latest, 2023-04-01, in cells 3..10.
/// let mut input = GridInput { ags: vec!["05000001".into()], ..Default::default() };
/// let nr = CellValue { count: [0, 1], mask: [UNKNOWN, UNKNOWN] };
/// for e in 0..10 {
///     input.cells.push((0, e, 0));
///     input.households.push((0, e, 2.0));
///     let (old, new) = (e < 6, e >= 3);
///     if old {
///         let valid_to = (!new).then(|| day(2023, 4, 1));
///         input.versions.push(Version { n: 0, e, valid_from: day(2023, 1, 1), valid_to, value: nr });
///     } else {
///         input.versions.push(Version { n: 0, e, valid_from: day(2023, 4, 1), valid_to: None, value: nr });
///     }
///     if new {
///         input.reported.push((0, e, 0, 1, UNKNOWN, UNKNOWN));
///     }
/// }
/// input.release_dates = vec![day(2023, 1, 1), day(2023, 4, 1)];
/// let grid = Grid::build(input)?;
/// let model = Model { radius_m: [[150.0, 100.0], [100.0, 50.0]], urban_households_per_km2: 400.0, urban_density_radius_m: 1000.0 };
/// let c = changes(&grid, &model, &[], 0, day(2023, 2, 1), day(2023, 5, 1), CoverageSource::Reported);
/// let g = &c.tech[1];
/// assert_eq!((g.cells_gained, g.cells_lost), (4, 3));
/// assert_eq!((g.households_gained, g.households_lost), (8.0, 6.0));
/// assert_eq!((g.dead_cells_before, g.dead_cells_after), (4, 3));
/// // One area each way: cells 6..10 gained, cells 0..3 lost (a 300 m × 100 m
/// // rectangle, 4 corners and the closing point).
/// assert_eq!(g.gained.len(), 1);
/// assert_eq!(g.lost[0].cells, 3);
/// assert_eq!(g.lost[0].rings[0].len(), 5);
/// assert_eq!(c.release_from, Some(day(2023, 1, 1)));
/// # Ok(())
/// # }
/// ```
#[must_use]
pub fn changes(grid: &Grid, model: &Model, sites: &[Site], muni: u16, from: NaiveDate, to: NaiveDate, source: CoverageSource) -> Changes {
    let mut out = Changes {
        from,
        to,
        release_from: grid.releases.release_at(from),
        release_to: grid.releases.release_at(to),
        source,
        tech: [TechChanges::default(), TechChanges::default()],
    };
    let Some(region) = Rect::of_muni(grid, usize::from(muni)) else {
        return out;
    };
    let (before_layers, before_masks) = state_at(grid, model, sites, from, source, region);
    let (after_layers, after_masks) = state_at(grid, model, sites, to, source, region);
    // Per slot of the region: bit 2t = covered before, 2t + 1 = after.
    let w = region.c1 - region.c0;
    let mut state = vec![0u8; (region.r1 - region.r0) * w];
    for r in region.r0..region.r1 {
        for c in region.c0..region.c1 {
            let slot = r * grid.cols + c;
            if grid.muni[slot] != muni {
                continue;
            }
            let h = f64::from(grid.households[slot]);
            let st = &mut state[(r - region.r0) * w + (c - region.c0)];
            for (t, tc) in out.tech.iter_mut().enumerate() {
                let count = |layers: &[ReportedLayer; 2], masks: &Masks| {
                    let (rc, rm) = layers[t].at(slot);
                    combine(source, rc, rm, masks.actual[t][slot]).0
                };
                let before = count(&before_layers, &before_masks) > 0;
                let after = count(&after_layers, &after_masks) > 0;
                *st |= u8::from(before) << (2 * t) | u8::from(after) << (2 * t + 1);
                tc.dead_cells_before += u32::from(!before);
                tc.dead_cells_after += u32::from(!after);
                if after && !before {
                    tc.cells_gained += 1;
                    tc.households_gained += h;
                } else if before && !after {
                    tc.cells_lost += 1;
                    tc.households_lost += h;
                }
            }
        }
    }
    let local = |slot: usize| (slot / grid.cols - region.r0) * w + (slot % grid.cols - region.c0);
    for (t, tc) in out.tech.iter_mut().enumerate() {
        let traced = |want: u8| {
            areas(grid, region, |slot| state[local(slot)] >> (2 * t) & 3 == want)
                .into_iter()
                .map(|(cells, rings)| Area { cells, rings })
                .collect()
        };
        tc.gained = traced(0b10);
        tc.lost = traced(0b01);
    }
    out
}
