//! Urban or rural: the setting that picks a site's radius.

use super::{disk_runs, threads, Rect};
use crate::grid::Grid;
use crate::model::{Model, Site};

/// Whether a site at `(x, y)` is urban: households in grid cells whose
/// centres lie within `urban_density_radius_m`, divided by the disk's area
/// π r² (km²), exceed `urban_households_per_km2`.
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
