//! Month-by-month replay of state-wide coverage for the targets' history.
//!
//! Each on-air site technology comes on air at its `since` date (the first
//! completed measure of that technology, or the site's on-air date; none =
//! from the start). Coverage only grows in this replay, so one pass stamps
//! the sites in date order and counts each cell the first time it becomes
//! covered: the whole series costs about one full stamping.
//!
//! Approximations, stated where shown: decommissioned sites are left out
//! (their off-air date is not recorded); the reported grid carries no date,
//! so with the `reported` or `union` source it counts as present in every
//! month (the `reported` series is therefore flat).

use chrono::NaiveDate;
use funkplan_model::CoverageSource;
use funkplan_targets::CoveragePoint;

use crate::engine::{disk_runs, Rect};
use crate::grid::{Grid, NO_MUNI, TECHS};
use crate::model::{combine, Model, Site};

/// State-wide coverage per month (first days, ascending) and technology;
/// each month counts the sites on air by its last day (by `today` for the
/// running month).
#[must_use]
#[allow(clippy::needless_range_loop)] // parallel per-slot arrays
pub fn replay(grid: &Grid, model: &Model, sites: &[Site], source: CoverageSource, months: &[NaiveDate], today: NaiveDate) -> Vec<CoveragePoint> {
    let mut out = Vec::with_capacity(months.len() * 2);
    for tech in 0..2 {
        let mut covered = vec![false; grid.slots()];
        let (mut hh, mut hh_cov, mut cells, mut cov) = (0.0f64, 0.0f64, 0u64, 0u64);
        for slot in 0..grid.slots() {
            if grid.muni[slot] == NO_MUNI {
                continue;
            }
            let h = f64::from(grid.households[slot]);
            hh += h;
            cells += 1;
            let (rc, rm) = grid.reported[tech].at(slot);
            let base = match source {
                CoverageSource::Modelled => 0,
                _ => combine(CoverageSource::Reported, rc, rm, 0).0,
            };
            if base > 0 {
                covered[slot] = true;
                hh_cov += h;
                cov += 1;
            }
        }
        let mut events: Vec<(Option<NaiveDate>, usize)> = if source == CoverageSource::Reported {
            Vec::new()
        } else {
            sites.iter().enumerate().filter(|(_, s)| s.on_air[tech]).map(|(i, s)| (s.since[tech], i)).collect()
        };
        events.sort_unstable();
        let mut next = 0;
        for &month in months {
            let end = month
                .checked_add_months(chrono::Months::new(1))
                .and_then(|d| d.pred_opt())
                .unwrap_or(month)
                .min(today);
            while next < events.len() && events[next].0.is_none_or(|d| d <= end) {
                let s = &sites[events[next].1];
                let r = model.radius_m[tech][usize::from(s.urban)];
                disk_runs(grid, Rect::all(grid), s.x, s.y, r, |row, lo, hi| {
                    let base = row * grid.cols;
                    for slot in base + lo..=base + hi {
                        if !covered[slot] && grid.muni[slot] != NO_MUNI {
                            covered[slot] = true;
                            hh_cov += f64::from(grid.households[slot]);
                            cov += 1;
                        }
                    }
                });
                next += 1;
            }
            out.push(CoveragePoint {
                month,
                technology: TECHS[tech].to_owned(),
                households: hh,
                households_covered: hh_cov,
                cells,
                cells_covered: cov,
            });
        }
    }
    out
}
