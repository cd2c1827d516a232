//! Urban or rural: the setting that picks a site's radius.

use super::{disk_runs, threads, Rect};
use crate::grid::Grid;
use crate::model::{Model, Site};

/// Whether a site at `(x, y)` is urban: households in grid cells whose
/// centres lie within `urban_density_radius_m`, divided by the disk's area
/// π r² (km²), exceed `urban_households_per_km2`.
///
/// # Examples
/// ```
/// # use funkplan_coverage::engine::{is_urban};
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
/// // 100 households on π km²: about 32 per km².
/// assert!(!is_urban(&grid, &model, 550.0, 550.0));
/// let dense = Model { urban_households_per_km2: 30.0, ..model };
/// assert!(is_urban(&grid, &dense, 550.0, 550.0));
/// # let _ = &mut sites;
/// # Ok(())
/// # }
/// ```
#[must_use]
pub fn is_urban(grid: &Grid, model: &Model, x: f64, y: f64) -> bool {
    let r = model.urban_density_radius_m;
    let mut sum = 0.0f64;
    disk_runs(grid, Rect::all(grid), x, y, r, |row, lo, hi| {
        let base = row * grid.cols;
        for h in &grid.households[base + lo..=base + hi] {
            sum += f64::from(*h);
        }
    });
    let area_km2 = std::f64::consts::PI * r * r / 1e6;
    sum / area_km2 > model.urban_households_per_km2
}

/// Set every site's urban flag from the grid (sites split over threads:
/// each is a disk sum of its own, ~70 ms for NRW's 27 k on one).
///
/// # Examples
/// ```
/// # use funkplan_coverage::engine::{classify};
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
/// classify(&grid, &Model { urban_households_per_km2: 30.0, ..model }, &mut sites);
/// assert!(sites[0].urban);
/// # Ok(())
/// # }
/// ```
pub fn classify(grid: &Grid, model: &Model, sites: &mut [Site]) {
    // A write re-classifies a site or two: no threads for those.
    let per = sites.len().div_ceil(threads()).max(256);
    std::thread::scope(|scope| {
        for part in sites.chunks_mut(per) {
            scope.spawn(move || {
                for s in part {
                    s.urban = is_urban(grid, model, s.x, s.y);
                }
            });
        }
    });
}
