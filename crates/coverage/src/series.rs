//! One municipality's figures at every coverage release (issue 16: the
//! municipality page charts its 5G and LTE household share over the
//! releases).
//!
//! Asking [`crate::dated::figures_at`] once per release would rewind and
//! sum the whole grid each time (about 100 ms at NRW scale, so seconds for
//! a few dozen releases). A municipality is a small box of the grid, so
//! this walks the releases once, newest first, over that box only: the
//! latest reported values of the box are copied, each older release is
//! reached by applying its back steps that fall in the box, and the sites
//! on air at each release date are stamped into the box alone. The rule
//! for "covered at a date" is `figures_at`'s (the release in force, the
//! sites on air then, combined per source), so each point equals that
//! function's figures for the municipality at the release date — the
//! property test `series_equals_figures_at` holds it to that.

use chrono::NaiveDate;
use funkplan_model::CoverageSource;

use crate::dated::sites_at;
use crate::engine::{stamp, Masks, Rect, TechFigures};
use crate::grid::{Grid, Mask, UNKNOWN};
use crate::model::{combine, Model, Site};

/// The figures of a municipality at one release date.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesPoint {
    /// The release's date (the figures are those of that day).
    pub date: NaiveDate,
    /// LTE and 5G (engine order); `operators` is left out (`None`).
    pub figures: [TechFigures; 2],
}

/// The figures of municipality `muni` (index into [`Grid::ags`]) at each
/// release date, oldest first, for `source`. `sites` must be classified.
/// Empty when the grid has no dated releases or the municipality no cells.
#[must_use]
pub fn series(grid: &Grid, model: &Model, sites: &[Site], muni: u16, source: CoverageSource) -> Vec<SeriesPoint> {
    let dates = grid.releases.dates();
    let Some(region) = Rect::of_muni(grid, usize::from(muni)) else {
        return Vec::new();
    };
    if dates.is_empty() {
        return Vec::new();
    }
    let w = region.c1 - region.c0;
    let local = |slot: usize| {
        let (r, c) = (slot / grid.cols, slot % grid.cols);
        (r >= region.r0 && r < region.r1 && c >= region.c0 && c < region.c1).then(|| (r - region.r0) * w + (c - region.c0))
    };
    // The box's reported values in the latest release, per technology.
    let n = (region.r1 - region.r0) * w;
    let mut count: [Vec<u8>; 2] = [vec![0; n], vec![0; n]];
    let mut mask: [Vec<Mask>; 2] = [vec![UNKNOWN; n], vec![UNKNOWN; n]];
    for r in region.r0..region.r1 {
        for c in region.c0..region.c1 {
            let (slot, i) = (r * grid.cols + c, (r - region.r0) * w + (c - region.c0));
            for t in 0..2 {
                (count[t][i], mask[t][i]) = grid.reported[t].at(slot);
            }
        }
    }
    // Only the sites whose disks can reach the box (the largest radius
    // around it): stamping sorts every site it is given.
    let reach = model.radius_m.iter().flatten().fold(0.0_f64, |a, &b| a.max(b)) + 100.0;
    let (y0, y1) = (f64::from(grid.n0) * 100.0 + region.r0 as f64 * 100.0 - reach, f64::from(grid.n0) * 100.0 + region.r1 as f64 * 100.0 + reach);
    let (x0, x1) = (f64::from(grid.e0) * 100.0 + region.c0 as f64 * 100.0 - reach, f64::from(grid.e0) * 100.0 + region.c1 as f64 * 100.0 + reach);
    let near: Vec<Site> = sites.iter().filter(|s| (x0..=x1).contains(&s.x) && (y0..=y1).contains(&s.y)).cloned().collect();
    // One set of masks for all dates: each stamp replaces the box's slots.
    let mut masks = Masks::new(grid);
    let mut out = Vec::with_capacity(dates.len());
    for i in (0..dates.len()).rev() {
        if i + 1 < dates.len() {
            // From release i + 1 back to release i.
            for st in grid.releases.back_steps(i) {
                if let Some(j) = local(st.slot as usize) {
                    for t in 0..2 {
                        count[t][j] = st.value.count[t];
                        mask[t][j] = st.value.mask[t];
                    }
                }
            }
        }
        let date = dates[i];
        if source != CoverageSource::Reported {
            stamp(grid, model, &sites_at(&near, date), &mut masks, region);
        }
        let mut figures: [TechFigures; 2] = Default::default();
        for r in region.r0..region.r1 {
            for c in region.c0..region.c1 {
                let slot = r * grid.cols + c;
                if grid.muni[slot] != muni {
                    continue;
                }
                let j = (r - region.r0) * w + (c - region.c0);
                let h = f64::from(grid.households[slot]);
                for (t, f) in figures.iter_mut().enumerate() {
                    let ops = combine(source, count[t][j], mask[t][j], masks.actual[t][slot]).0;
                    f.households += h;
                    f.cells += 1;
                    if ops > 0 {
                        f.households_covered += h;
                        f.cells_covered += 1;
                    } else {
                        f.dead_cells += 1;
                    }
                    f.grey_cells += u32::from(ops == 1);
                }
            }
        }
        out.push(SeriesPoint { date, figures });
    }
    out.reverse();
    out
}
