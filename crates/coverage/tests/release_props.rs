//! Property tests of coverage over releases (issue 16) on random small grids
//! with 1–4 dated releases (cells gained, lost and changed between them)
//! and sites coming on air over time:
//! - the figures for a date equal a brute-force count (every cell against
//!   the release in force, told by the generator, and every site);
//! - the history over releases equals computing each month on its own
//!   (`figures_at` of the month's last day, summed over the municipalities:
//!   state = sum of municipalities in every month);
//! - shares stay within 0..=1 in every month and municipality;
//! - a municipality's changes between two dates equal brute force, are the
//!   difference of the figures, and their areas' polygons measure them;
//! - with one release before the first month, the history equals the
//!   replay of reported coverage without releases (as before issue 16).

#![allow(clippy::needless_range_loop, clippy::unwrap_used, clippy::cast_possible_truncation, clippy::cast_precision_loss, clippy::cast_possible_wrap)]

use chrono::{Days, Months, NaiveDate};
use funkplan_coverage::changes::changes;
use funkplan_coverage::dated::figures_at;
use funkplan_coverage::engine::classify;
use funkplan_coverage::grid::{Grid, GridInput, UNKNOWN};
use funkplan_coverage::history::replay;
use funkplan_coverage::model::{combine, Model, Site};
use funkplan_coverage::releases::{CellValue, Version};
use funkplan_coverage::CoverageSource;
use proptest::prelude::*;

const N0: i32 = 57_000;
const E0: i32 = 3_500;
const SOURCES: [CoverageSource; 3] = [CoverageSource::Reported, CoverageSource::Modelled, CoverageSource::Union];

fn day0() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 10).unwrap()
}

/// One release as the generator made it: per cell `(n, e)` of the box,
/// its value (`None` = absent).
type Layer = Vec<((i32, i32), Option<CellValue>)>;

#[derive(Debug, Clone)]
struct World {
    grid: Grid,
    model: Model,
    sites: Vec<Site>,
    /// Release dates, ascending.
    dates: Vec<NaiveDate>,
    /// Per release, its cells.
    truth: Vec<Layer>,
    months: Vec<NaiveDate>,
    today: NaiveDate,
}

impl World {
    /// The reported value of cell `(n, e)` in force at `date`, by the
    /// generator's own record (no back steps involved).
    fn reported_at(&self, n: i32, e: i32, date: NaiveDate) -> CellValue {
        let Some(r) = self.dates.iter().rposition(|&d| d <= date) else { return CellValue::ABSENT };
        self.truth[r].iter().find(|(k, _)| *k == (n, e)).and_then(|(_, v)| *v).unwrap_or(CellValue::ABSENT)
    }
}

fn world() -> impl Strategy<Value = World> {
    (4usize..16, 4usize..16, 1usize..4, any::<u64>(), 0usize..10, 1usize..5, 50.0f64..700.0, 50.0f64..700.0, 60u64..300).prop_map(
        |(rows, cols, munis, seed, nsites, nrel, r_lte, r_nr, today)| {
            let mut s = seed | 1;
            let mut rnd = move || {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 11) as f64 / (1u64 << 53) as f64
            };
            let mut input = GridInput { ags: (0..munis).map(|i| format!("0500000{i}")).collect(), ..Default::default() };
            let mut keys = Vec::new();
            for i in 0..rows {
                for j in 0..cols {
                    let (n, e) = (N0 + i as i32, E0 + j as i32);
                    keys.push((n, e));
                    if rnd() < 0.1 {
                        continue; // a slot of the box that is no grid cell
                    }
                    input.cells.push((n, e, ((j * munis) / cols) as u16));
                    input.households.push((n, e, (rnd() * 30.0) as f32));
                }
            }
            let value = |rnd: &mut dyn FnMut() -> f64| {
                (rnd() < 0.75).then(|| {
                    let mask = |rnd: &mut dyn FnMut() -> f64| if rnd() < 0.5 { UNKNOWN } else { (rnd() * 16.0) as u16 };
                    CellValue { count: [(rnd() * 3.0) as u8, (rnd() * 3.0) as u8], mask: [mask(rnd), mask(rnd)] }
                })
            };
            // Release dates a few weeks to months apart, possibly before the
            // first month; each release changes about a third of the cells
            // of the one before (gained, lost or changed).
            let mut dates = Vec::new();
            let mut d = day0() - Days::new(40);
            for _ in 0..nrel {
                d = d + Days::new(1 + (rnd() * 90.0) as u64);
                dates.push(d);
            }
            let mut truth: Vec<Layer> = Vec::new();
            for r in 0..nrel {
                let layer = keys
                    .iter()
                    .enumerate()
                    .map(|(i, &k)| {
                        let v = if r == 0 || rnd() < 0.35 { value(&mut rnd) } else { truth[r - 1][i].1 };
                        (k, v)
                    })
                    .collect();
                truth.push(layer);
            }
            // Versions as the schema keeps them: stretches of equal values.
            for (i, &(n, e)) in keys.iter().enumerate() {
                let mut r = 0;
                while r < nrel {
                    let Some(v) = truth[r][i].1 else {
                        r += 1;
                        continue;
                    };
                    let start = r;
                    while r + 1 < nrel && truth[r + 1][i].1 == Some(v) {
                        r += 1;
                    }
                    let valid_to = (r + 1 < nrel).then(|| dates[r + 1]);
                    input.versions.push(Version { n, e, valid_from: dates[start], valid_to, value: v });
                    r += 1;
                }
                if let Some(v) = truth[nrel - 1][i].1 {
                    input.reported.push((n, e, v.count[0], v.count[1], v.mask[0], v.mask[1]));
                }
            }
            input.release_dates = dates.clone();
            let grid = Grid::build(input).unwrap();
            let model = Model { radius_m: [[r_lte, r_lte * 1.7], [r_nr, r_nr * 1.5]], urban_households_per_km2: 800.0, urban_density_radius_m: 300.0 };
            let mut sites: Vec<Site> = (0..nsites)
                .map(|i| {
                    let on = [rnd() < 0.7, rnd() < 0.5];
                    let since = |rnd: &mut dyn FnMut() -> f64| (rnd() < 0.8).then(|| day0() + Days::new((rnd() * 300.0) as u64));
                    Site {
                        id: format!("S{i}"),
                        bit: (rnd() * 4.0) as u8,
                        x: f64::from(E0) * 100.0 - 300.0 + rnd() * (cols as f64 * 100.0 + 600.0),
                        y: f64::from(N0) * 100.0 - 300.0 + rnd() * (rows as f64 * 100.0 + 600.0),
                        on_air: on,
                        scenario: on,
                        since: [since(&mut rnd), since(&mut rnd)],
                        urban: false,
                    }
                })
                .collect();
            classify(&grid, &model, &mut sites);
            let today = day0() + Days::new(today);
            let mut months = Vec::new();
            let mut m = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
            while m <= today {
                months.push(m);
                m = m.checked_add_months(Months::new(1)).unwrap();
            }
            World { grid, model, sites, dates, truth, months, today }
        },
    )
}

fn month_end(month: NaiveDate, today: NaiveDate) -> NaiveDate {
    month.checked_add_months(Months::new(1)).unwrap().pred_opt().unwrap().min(today)
}

fn centre(g: &Grid, slot: usize) -> (f64, f64, i32, i32) {
    let (r, c) = (slot / g.cols, slot % g.cols);
    let (n, e) = (g.n0 + r as i32, g.e0 + c as i32);
    (f64::from(e) * 100.0 + 50.0, f64::from(n) * 100.0 + 50.0, n, e)
}

/// Whether cell `slot` counts as covered by `tech` at `date` with
/// `source`, every site tested and the release told by the generator.
fn brute_covered(w: &World, slot: usize, tech: usize, date: NaiveDate, source: CoverageSource) -> bool {
    let (cx, cy, n, e) = centre(&w.grid, slot);
    let rv = w.reported_at(n, e, date);
    let mut modelled = 0u16;
    for s in &w.sites {
        if s.on_air[tech] && s.since[tech].is_none_or(|d| d <= date) && (cx - s.x).hypot(cy - s.y) <= w.model.radius_m[tech][usize::from(s.urban)] {
            modelled |= 1 << s.bit;
        }
    }
    combine(source, rv.count[tech], rv.mask[tech], modelled).0 > 0
}

/// Shoelace area of a closed ring in m² (positive counter-clockwise).
fn ring_area(ring: &[(f64, f64)]) -> f64 {
    ring.windows(2).map(|p| p[0].0 * p[1].1 - p[1].0 * p[0].1).sum::<f64>() / 2.0
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn changes_between_two_dates_equal_brute_force_and_the_figures(w in world(), a in 0u64..400, b in 0u64..400) {
        let from = day0() - Days::new(60) + Days::new(a.min(b));
        let to = day0() - Days::new(60) + Days::new(a.max(b));
        for source in SOURCES {
            let f0 = figures_at(&w.grid, &w.model, &w.sites, &[0, 1, 2, 3], from, source);
            let f1 = figures_at(&w.grid, &w.model, &w.sites, &[0, 1, 2, 3], to, source);
            for m in 0..w.grid.ags.len() {
                let c = changes(&w.grid, &w.model, &w.sites, m as u16, from, to, source);
                for t in 0..2 {
                    let tc = &c.tech[t];
                    let (mut gained, mut lost) = (0u32, 0u32);
                    for slot in 0..w.grid.slots() {
                        if usize::from(w.grid.muni[slot]) != m { continue; }
                        let (x, y) = (brute_covered(&w, slot, t, from, source), brute_covered(&w, slot, t, to, source));
                        gained += u32::from(!x && y);
                        lost += u32::from(x && !y);
                    }
                    prop_assert_eq!((tc.cells_gained, tc.cells_lost), (gained, lost), "{} tech {} muni {} {}..{}", source, t, m, from, to);
                    prop_assert_eq!(tc.dead_cells_before, f0[m][t].dead_cells);
                    prop_assert_eq!(tc.dead_cells_after, f1[m][t].dead_cells);
                    let dh = f1[m][t].households_covered - f0[m][t].households_covered;
                    prop_assert!((dh - (tc.households_gained - tc.households_lost)).abs() < 1e-6);
                    // The areas hold exactly the changed cells, and their
                    // polygons (outer ring minus holes) measure them.
                    for (areas, cells) in [(&tc.gained, tc.cells_gained), (&tc.lost, tc.cells_lost)] {
                        prop_assert_eq!(areas.iter().map(|a| a.cells).sum::<u32>(), cells);
                        for a in areas {
                            let outer = ring_area(&a.rings[0]);
                            let holes: f64 = a.rings[1..].iter().map(|r| ring_area(r)).sum();
                            prop_assert!(outer > 0.0 && holes <= 0.0);
                            prop_assert!((outer + holes - f64::from(a.cells) * 1e4).abs() < 1e-3);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn series_equals_figures_at(w in world()) {
        for source in SOURCES {
            let at: Vec<_> = w.grid.releases.dates().iter().map(|&d| figures_at(&w.grid, &w.model, &w.sites, &[0, 1, 2, 3], d, source)).collect();
            for m in 0..w.grid.ags.len() {
                let s = funkplan_coverage::series::series(&w.grid, &w.model, &w.sites, m as u16, source);
                if w.grid.muni_box[m].is_none() {
                    prop_assert!(s.is_empty());
                    continue;
                }
                prop_assert_eq!(s.len(), w.grid.releases.dates().len());
                for (i, p) in s.iter().enumerate() {
                    prop_assert_eq!(p.date, w.grid.releases.dates()[i]);
                    for t in 0..2 {
                        let (a, b) = (&p.figures[t], &at[i][m][t]);
                        prop_assert_eq!((a.cells, a.cells_covered, a.dead_cells, a.grey_cells), (b.cells, b.cells_covered, b.dead_cells, b.grey_cells), "{} muni {} release {} tech {}", source, m, p.date, t);
                        prop_assert!((a.households - b.households).abs() < 1e-6 && (a.households_covered - b.households_covered).abs() < 1e-6);
                    }
                }
            }
        }
    }

    #[test]
    fn figures_at_a_date_equal_brute_force(w in world(), offset in 0u64..400) {
        let date = day0() - Days::new(60) + Days::new(offset);
        for source in SOURCES {
            let f = figures_at(&w.grid, &w.model, &w.sites, &[0, 1, 2, 3], date, source);
            for tech in 0..2 {
                let mut covered = vec![0u32; w.grid.ags.len()];
                let mut op = vec![[0u32; 4]; w.grid.ags.len()];
                let mut known = vec![true; w.grid.ags.len()];
                for slot in 0..w.grid.slots() {
                    let m = w.grid.muni[slot];
                    if m == u16::MAX { continue; }
                    let (cx, cy, n, e) = centre(&w.grid, slot);
                    let rv = w.reported_at(n, e, date);
                    let mut modelled = 0u16;
                    for s in &w.sites {
                        if s.on_air[tech] && s.since[tech].is_none_or(|d| d <= date)
                            && (cx - s.x).hypot(cy - s.y) <= w.model.radius_m[tech][usize::from(s.urban)] {
                            modelled |= 1 << s.bit;
                        }
                    }
                    let (count, set) = combine(source, rv.count[tech], rv.mask[tech], modelled);
                    covered[m as usize] += u32::from(count > 0);
                    match set {
                        Some(set) => for (b, o) in op[m as usize].iter_mut().enumerate() { *o += u32::from(set >> b & 1 == 1) },
                        None => known[m as usize] = false,
                    }
                }
                for m in 0..w.grid.ags.len() {
                    prop_assert_eq!(f[m][tech].cells_covered, covered[m], "{} tech {} muni {} at {}", source, tech, m, date);
                    let ops: Option<Vec<u32>> = f[m][tech].operators.as_ref().map(|o| o.iter().map(|o| o.cells_covered).collect());
                    prop_assert_eq!(ops, known[m].then(|| op[m].to_vec()));
                }
            }
        }
    }

    #[test]
    fn history_over_releases_equals_each_month_on_its_own(w in world()) {
        for source in SOURCES {
            let points = replay(&w.grid, &w.model, &w.sites, source, &w.months, w.today);
            prop_assert_eq!(points.len(), w.months.len() * 2);
            for (k, &month) in w.months.iter().enumerate() {
                let f = figures_at(&w.grid, &w.model, &w.sites, &[0, 1, 2, 3], month_end(month, w.today), source);
                for tech in 0..2 {
                    let p = &points[tech * w.months.len() + k];
                    prop_assert_eq!(p.month, month);
                    // State = sum of the municipalities, in every month.
                    let cells: u64 = f.iter().map(|m| u64::from(m[tech].cells)).sum();
                    let cov: u64 = f.iter().map(|m| u64::from(m[tech].cells_covered)).sum();
                    let hh: f64 = f.iter().map(|m| m[tech].households).sum();
                    let hhc: f64 = f.iter().map(|m| m[tech].households_covered).sum();
                    prop_assert_eq!((p.cells, p.cells_covered), (cells, cov), "{} tech {} month {}", source, tech, month);
                    prop_assert!((p.households - hh).abs() < 1e-9 * hh.max(1.0));
                    prop_assert!((p.households_covered - hhc).abs() < 1e-9 * hh.max(1.0), "{} vs {}", p.households_covered, hhc);
                    // Shares within 0..=1, state and municipalities.
                    prop_assert!(p.cells_covered <= p.cells && p.households_covered <= p.households + 1e-9 && p.households_covered >= -1e-9);
                    for m in &f {
                        prop_assert!(m[tech].cells_covered <= m[tech].cells);
                        prop_assert!(m[tech].households_covered >= 0.0 && m[tech].households_covered <= m[tech].households + 1e-9);
                    }
                }
            }
        }
    }

    #[test]
    fn one_release_before_the_first_month_equals_the_undated_replay(w in world()) {
        // The latest release alone, dated before every month, against the
        // same reported layer with no release (counted in every month, the
        // replay before issue 16; checked against brute force in
        // coverage_props). Sites only come on air, so both series grow.
        let rebuild = |dates: Vec<NaiveDate>| {
            let mut input = GridInput { ags: w.grid.ags.clone(), ..Default::default() };
            for slot in 0..w.grid.slots() {
                let (_, _, n, e) = centre(&w.grid, slot);
                if w.grid.muni[slot] != u16::MAX {
                    input.cells.push((n, e, w.grid.muni[slot]));
                    input.households.push((n, e, w.grid.households[slot]));
                }
                let (lc, lm) = w.grid.reported[0].at(slot);
                let (nc, nm) = w.grid.reported[1].at(slot);
                if !w.grid.reported[0].count.is_empty() {
                    input.reported.push((n, e, lc, nc, lm, nm));
                    if let Some(&d) = dates.first() {
                        input.versions.push(Version { n, e, valid_from: d, valid_to: None, value: CellValue { count: [lc, nc], mask: [lm, nm] } });
                    }
                }
            }
            input.release_dates = dates;
            Grid::build(input).unwrap()
        };
        let dated = rebuild(vec![NaiveDate::from_ymd_opt(2023, 12, 1).unwrap()]);
        let undated = rebuild(Vec::new());
        for source in SOURCES {
            let a = replay(&dated, &w.model, &w.sites, source, &w.months, w.today);
            let b = replay(&undated, &w.model, &w.sites, source, &w.months, w.today);
            prop_assert_eq!(&a, &b);
            for pair in a.windows(2).filter(|p| p[0].technology == p[1].technology) {
                prop_assert!(pair[1].cells_covered >= pair[0].cells_covered, "only growing");
            }
        }
    }
}
