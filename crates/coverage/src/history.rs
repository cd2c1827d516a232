//! Month-by-month replay of state-wide coverage for the targets' history.
//!
//! Each month counts what was there on its last day (on `today` for the
//! running month): the reported coverage of the release in force then (no
//! release yet: none), the modelled coverage of the sites on air then, or
//! their union, as [`crate::dated::figures_at`] counts a single date. The
//! series may go down: a release may report less than the one before.
//!
//! Modelled: each on-air site technology comes on air at its `since` date
//! (the first completed measure of that technology, or the site's on-air
//! date; none = from the start). Modelled coverage only grows, so each cell
//! has a first month in which the sites model it ([`modelled_first_months`]),
//! found in about one stamping: the sites are grouped by the month they
//! come on air; group by group in month order, their disks' row runs are
//! merged per row (as in [`crate::engine::stamp()`]) and every cell of a
//! merged run not yet covered gets the group's month.
//!
//! Reported and union: the cells are bucketed by that first month; per
//! release, the households of the cells it reports fall into those
//! buckets, and a month in force of release `r` adds to the modelled sum
//! the buckets of `r` after it (cells reported but not modelled yet). The
//! latest release's buckets take one pass over the grid; each older
//! release's come from the newer one's by its changes alone (see
//! `series`), so 16 releases cost about one pass.
//!
//! Approximation, stated where shown: decommissioned sites are left out
//! (their off-air date is not recorded).

use chrono::NaiveDate;
use funkplan_model::CoverageSource;
use funkplan_targets::CoveragePoint;

use crate::engine::{disk_runs, Rect};
use crate::grid::{Grid, NO_MUNI, TECHNOLOGIES};
use crate::model::{Model, Site};
use crate::releases;

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

/// Per slot of the grid, the index of the first month in which the
/// sites on air model technology `tech` in the cell (`NEVER` if in none).
/// The modelled coverage only grows (sites come on air; decommissioned
/// ones are left out), so one first month per cell says it all.
#[must_use]
pub fn modelled_first_months(grid: &Grid, model: &Model, sites: &[Site], ends: &[NaiveDate], tech: usize) -> Vec<u32> {
    let mut first = vec![NEVER; grid.slots()];
    if ends.is_empty() {
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
/// each month counts the release in force on its last day and the sites
/// on air by then (by `today` for the running month).
#[must_use]
pub fn replay(grid: &Grid, model: &Model, sites: &[Site], source: CoverageSource, months: &[NaiveDate], today: NaiveDate) -> Vec<CoveragePoint> {
    let ends = month_ends(months, today);
    let per_tech: Vec<Series> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|tech| {
                let ends = &ends;
                scope.spawn(move || {
                    let first = if source == CoverageSource::Reported {
                        None
                    } else {
                        Some(modelled_first_months(grid, model, sites, ends, tech))
                    };
                    series(grid, first.as_deref(), source != CoverageSource::Modelled, ends, tech)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    let mut out = Vec::with_capacity(months.len() * 2);
    for (tech, s) in per_tech.into_iter().enumerate() {
        for (k, &month) in months.iter().enumerate() {
            out.push(CoveragePoint {
                month,
                technology: TECHNOLOGIES[tech],
                households: s.households,
                households_covered: s.households_covered[k],
                cells: s.cells,
                cells_covered: s.cells_covered[k],
            });
        }
    }
    out
}

/// One technology's series: totals and covered per month.
struct Series {
    households: f64,
    cells: u64,
    households_covered: Vec<f64>,
    cells_covered: Vec<u64>,
}

/// Households and cells per bucket of modelled first month (`0..months`,
/// and `months` for "never modelled").
#[derive(Clone)]
struct Buckets {
    hh: Vec<f64>,
    cells: Vec<i64>,
}

impl Buckets {
    fn new(n: usize) -> Self {
        Self { hh: vec![0.0; n], cells: vec![0; n] }
    }
    #[inline]
    fn add(&mut self, j: usize, h: f64, sign: i8) {
        self.hh[j] += f64::from(sign) * h;
        self.cells[j] += i64::from(sign);
    }
}

/// The series of one technology from the modelled first months (`None`:
/// modelled coverage not counted) and, with `reported`, the releases.
///
/// Month `k` counts a cell when the sites model it by then or the release
/// in force on its last day reports it. With the cells split by modelled
/// first month `j` into buckets, and `add_r[j]` the households of the
/// cells release `r` reports in bucket `j`:
/// `covered(k) = modelled_cum(k) + Σ_{j > k} add_r[j]` (the bucket past
/// the last month holding the cells never modelled). The buckets of the
/// latest release take one pass over the grid; each older release's are
/// the newer one's corrected by its back steps (a cell gained or lost
/// moves its households in or out of its bucket), so all releases cost one
/// pass plus their changes.
fn series(grid: &Grid, first: Option<&[u32]>, reported: bool, ends: &[NaiveDate], tech: usize) -> Series {
    let months = ends.len();
    let bucket = |slot: usize| first.map_or(months, |f| (f[slot] as usize).min(months));
    let (mut households, mut cells) = (0.0f64, 0u64);
    let mut modelled = Buckets::new(months + 1);
    let releases = &grid.releases;
    let in_force: Vec<Option<usize>> = if reported { ends.iter().map(|&d| releases.index_at(d)).collect() } else { vec![None; months] };
    // Whether the current release reports each slot, and its buckets.
    let mut covers: Vec<bool> = Vec::new();
    let mut rep = Buckets::new(months + 1);
    let need_reported = in_force.iter().any(Option::is_some);
    if need_reported {
        let layer = &grid.reported[tech];
        covers = (0..grid.slots()).map(|slot| { let (c, m) = layer.at(slot); releases::covers(c, m) }).collect();
    }
    for (slot, &m) in grid.muni.iter().enumerate() {
        if m == NO_MUNI {
            continue;
        }
        let h = f64::from(grid.households[slot]);
        households += h;
        cells += 1;
        let j = bucket(slot);
        modelled.add(j, h, 1);
        if need_reported && covers[slot] {
            rep.add(j, h, 1);
        }
    }
    // Modelled coverage by month: prefix sums over the first months.
    let mut hh_cov = vec![0.0f64; months];
    let mut cov = vec![0i64; months];
    let (mut h_acc, mut c_acc) = (0.0f64, 0i64);
    for k in 0..months {
        h_acc += modelled.hh[k];
        c_acc += modelled.cells[k];
        hh_cov[k] = h_acc;
        cov[k] = c_acc;
    }
    if need_reported {
        // Releases from the latest down to the oldest one in force in some
        // month, each adding its reported cells not yet modelled to the
        // months it is in force.
        let oldest = in_force.iter().flatten().copied().min().unwrap_or(0);
        let mut r = releases.len() - 1;
        loop {
            for k in (0..months).filter(|&k| in_force[k] == Some(r)) {
                let extra_h: f64 = rep.hh[k + 1..].iter().sum();
                let extra_c: i64 = rep.cells[k + 1..].iter().sum();
                hh_cov[k] += extra_h;
                cov[k] += extra_c;
            }
            if r <= oldest {
                break;
            }
            r -= 1;
            for st in releases.back_steps(r) {
                let slot = st.slot as usize;
                let now = st.value.covers(tech);
                if now == covers[slot] {
                    continue;
                }
                covers[slot] = now;
                if grid.muni[slot] != NO_MUNI {
                    rep.add(bucket(slot), f64::from(grid.households[slot]), if now { 1 } else { -1 });
                }
            }
        }
    }
    Series {
        households,
        cells,
        households_covered: hh_cov,
        cells_covered: cov.into_iter().map(|c| u64::try_from(c).unwrap_or(0)).collect(),
    }
}
