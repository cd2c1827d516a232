//! Month-by-month replay of state-wide coverage for the targets' history.
//!
//! Each on-air site technology comes on air at its `since` date (the first
//! completed measure of that technology, or the site's on-air date; none =
//! from the start). Coverage only grows in this replay, so each cell has a
//! first month in which it is covered, and a month's figures are the sums
//! over the cells whose first month is not later.
//!
//! How, in about one stamping: the sites are grouped by the month they come
//! on air; group by group in month order, their disks' row runs are merged
//! per row (as in [`crate::engine::stamp()`]) and every cell of a merged run
//! not yet covered gets the group's month. One pass over the grid then sums
//! households and cells per first month; prefix sums give the series. (The
//! first version stamped every site's disk cell by cell, checking each
//! cell: at NRW scale some 1 s.)
//!
//! Approximations, stated where shown: decommissioned sites are left out
//! (their off-air date is not recorded); the reported grid carries no date,
//! so with the `reported` or `union` source it counts as present in every
//! month (the `reported` series is therefore flat).

use chrono::NaiveDate;
use funkplan_model::CoverageSource;
use funkplan_targets::CoveragePoint;

use crate::engine::{disk_runs, Rect};
use crate::grid::{Grid, NO_MUNI, TECHNOLOGIES};
use crate::model::{combine, Model, Site};

/// "Never covered" in the first-month array.
const NEVER: u32 = u32::MAX;

/// The last day counted in each month: its last day, or `today` for the
/// running month (non-decreasing).
fn month_ends(months: &[NaiveDate], today: NaiveDate) -> Vec<NaiveDate> {
    months
        .iter()
        .map(|&month| {
            month
                .checked_add_months(chrono::Months::new(1))
                .and_then(|d| d.pred_opt())
                .unwrap_or(month)
                .min(today)
        })
        .collect()
}

/// Per slot of the grid, the index of the first month in which the cell is
/// covered by technology `tech` (`NEVER` if in none); `0` for cells the
/// reported grid covers (present from the start).
#[must_use]
#[allow(clippy::needless_range_loop)] // parallel per-slot arrays
pub fn first_months(grid: &Grid, model: &Model, sites: &[Site], source: CoverageSource, ends: &[NaiveDate], tech: usize) -> Vec<u32> {
    let mut first = vec![NEVER; grid.slots()];
    if source != CoverageSource::Modelled {
        for slot in 0..grid.slots() {
            let (rc, rm) = grid.reported[tech].at(slot);
            if combine(CoverageSource::Reported, rc, rm, 0).0 > 0 {
                first[slot] = 0;
            }
        }
    }
    if source == CoverageSource::Reported || ends.is_empty() {
        return first;
    }
    // Sites by the month they come on air (a site on air after the last
    // counted day never counts; no date = from the first month).
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); ends.len()];
    for (i, s) in sites.iter().enumerate() {
        if !s.on_air[tech] {
            continue;
        }
        let k = s.since[tech].map_or(0, |d| ends.partition_point(|&e| e < d));
        if let Some(g) = groups.get_mut(k) {
            g.push(i);
        }
    }
    let all = Rect::all(grid);
    let cols = grid.cols;
    let mut buckets: Vec<Vec<(u32, u32)>> = vec![Vec::new(); grid.rows];
    let mut used_rows: Vec<usize> = Vec::new();
    for (k, members) in groups.iter().enumerate() {
        if members.is_empty() {
            continue;
        }
        #[allow(clippy::cast_possible_truncation)]
        let k = k as u32;
        for &si in members {
            let s = &sites[si];
            let r = model.radius_m[tech][usize::from(s.urban)];
            disk_runs(grid, all, s.x, s.y, r, |row, lo, hi| {
                if buckets[row].is_empty() {
                    used_rows.push(row);
                }
                #[allow(clippy::cast_possible_truncation)]
                buckets[row].push((lo as u32, hi as u32));
            });
        }
        for &row in &used_rows {
            let runs = &mut buckets[row];
            runs.sort_unstable_by_key(|&(lo, _)| lo);
            let o = row * cols;
            let mut paint = |lo: u32, hi: u32| {
                for v in &mut first[o + lo as usize..=o + hi as usize] {
                    if *v == NEVER {
                        *v = k;
                    }
                }
            };
            let (mut lo, mut hi) = runs[0];
            for &(l, h) in &runs[1..] {
                if l <= hi + 1 {
                    hi = hi.max(h);
                } else {
                    paint(lo, hi);
                    (lo, hi) = (l, h);
                }
            }
            paint(lo, hi);
            runs.clear();
        }
        used_rows.clear();
    }
    first
}

/// State-wide coverage per month (first days, ascending) and technology;
/// each month counts the sites on air by its last day (by `today` for the
/// running month).
#[must_use]
pub fn replay(grid: &Grid, model: &Model, sites: &[Site], source: CoverageSource, months: &[NaiveDate], today: NaiveDate) -> Vec<CoveragePoint> {
    let ends = month_ends(months, today);
    let per_tech: Vec<(f64, u64, Vec<f64>, Vec<u64>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|tech| {
                let ends = &ends;
                scope.spawn(move || {
                    let first = first_months(grid, model, sites, source, ends, tech);
                    let (mut hh, mut cells) = (0.0f64, 0u64);
                    let mut add_hh = vec![0.0f64; ends.len()];
                    let mut add_cells = vec![0u64; ends.len()];
                    for (slot, &k) in first.iter().enumerate() {
                        if grid.muni[slot] == NO_MUNI {
                            continue;
                        }
                        let h = f64::from(grid.households[slot]);
                        hh += h;
                        cells += 1;
                        if let Some(a) = add_hh.get_mut(k as usize) {
                            *a += h;
                            add_cells[k as usize] += 1;
                        }
                    }
                    (hh, cells, add_hh, add_cells)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    let mut out = Vec::with_capacity(months.len() * 2);
    for (tech, (hh, cells, add_hh, add_cells)) in per_tech.into_iter().enumerate() {
        let (mut hh_cov, mut cov) = (0.0f64, 0u64);
        for (k, &month) in months.iter().enumerate() {
            hh_cov += add_hh[k];
            cov += add_cells[k];
            out.push(CoveragePoint {
                month,
                technology: TECHNOLOGIES[tech],
                households: hh,
                households_covered: hh_cov,
                cells,
                cells_covered: cov,
            });
        }
    }
    out
}
