//! Property tests of the pure engine on random small grids and sites:
//! the engine equals a brute-force oracle (every cell against every site),
//! shares stay within 0..=1, municipalities sum to the state total, a new
//! on-air site never lowers coverage, the scenario is never below actual,
//! a regional re-stamp equals a full one, and the targets' history replay
//! equals counting month by month with every site tested.

#![allow(clippy::needless_range_loop, clippy::unwrap_used, clippy::cast_possible_truncation, clippy::cast_precision_loss, clippy::cast_possible_wrap)]

use funkplan_coverage::engine::{aggregate, classify, munis_in, munis_rect, stamp, Figures, Masks, Rect, Scope};
use funkplan_coverage::grid::{Grid, GridInput, UNKNOWN};
use funkplan_coverage::model::{Model, Site};
use funkplan_coverage::CoverageSource;
use proptest::prelude::*;

const N0: i32 = 57_000;
const E0: i32 = 3_500;

#[derive(Debug, Clone)]
struct World {
    grid: Grid,
    model: Model,
    sites: Vec<Site>,
}

fn world() -> impl Strategy<Value = World> {
    (4usize..28, 4usize..28, 1usize..4, any::<u64>(), 0usize..14, 50.0f64..900.0, 50.0f64..900.0, 0.0f64..3000.0).prop_map(
        |(rows, cols, munis, seed, nsites, r_lte, r_nr, thr)| {
            let mut s = seed | 1;
            let mut rnd = move || {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 11) as f64 / (1u64 << 53) as f64
            };
            let mut input = GridInput { ags: (0..munis).map(|i| format!("0500000{i}")).collect(), ..Default::default() };
            for i in 0..rows {
                for j in 0..cols {
                    let (n, e) = (N0 + i as i32, E0 + j as i32);
                    if rnd() < 0.1 {
                        continue;
                    }
                    input.cells.push((n, e, ((j * munis) / cols) as u16));
                    input.households.push((n, e, (rnd() * 30.0) as f32));
                    if rnd() < 0.7 {
                        let (a, b) = ((rnd() * 4.0) as u8, (rnd() * 4.0) as u8);
                        let ma = if rnd() < 0.5 { UNKNOWN } else { (rnd() * 16.0) as u16 };
                        let mb = if rnd() < 0.5 { UNKNOWN } else { (rnd() * 16.0) as u16 };
                        input.reported.push((n, e, a, b, ma, mb));
                    }
                }
            }
            let grid = Grid::build(input).unwrap();
            let model = Model {
                radius_m: [[r_lte, r_lte * 1.7], [r_nr, r_nr * 1.5]],
                urban_households_per_km2: thr,
                urban_density_radius_m: 300.0,
            };
            let sites = (0..nsites)
                .map(|i| {
                    let on = [rnd() < 0.6, rnd() < 0.4];
                    Site {
                        id: format!("S{i}"),
                        bit: (rnd() * 4.0) as u8,
                        x: f64::from(E0) * 100.0 - 300.0 + rnd() * (cols as f64 * 100.0 + 600.0),
                        y: f64::from(N0) * 100.0 - 300.0 + rnd() * (rows as f64 * 100.0 + 600.0),
                        on_air: on,
                        scenario: [on[0] || rnd() < 0.5, on[1] || rnd() < 0.5],
                        since: [None, None],
                        urban: false,
                    }
                })
                .collect();
            World { grid, model, sites }
        },
    )
}

fn compute(w: &mut World, source: CoverageSource, scenario: bool) -> (Figures, Masks) {
    classify(&w.grid, &w.model, &mut w.sites);
    let mut m = Masks::new(&w.grid);
    stamp(&w.grid, &w.model, &w.sites, &mut m, Rect::all(&w.grid));
    let f = aggregate(&w.grid, &m, &[0, 1, 2, 3], Scope { source, scenario, munis: None, region: Rect::all(&w.grid) });
    (f, m)
}

fn centre(g: &Grid, slot: usize) -> (f64, f64) {
    let (r, c) = (slot / g.cols, slot % g.cols);
    (f64::from(g.e0 + c as i32) * 100.0 + 50.0, f64::from(g.n0 + r as i32) * 100.0 + 50.0)
}

/// The modelled operator set of a cell, every site tested.
fn brute_mask(w: &World, slot: usize, tech: usize, scenario: bool) -> u16 {
    let (cx, cy) = centre(&w.grid, slot);
    let mut m = 0;
    for s in &w.sites {
        let on = if scenario { s.scenario[tech] || s.on_air[tech] } else { s.on_air[tech] };
        if !on {
            continue;
        }
        // Urban by brute force too.
        let dr = w.model.urban_density_radius_m;
        let hh: f64 = (0..w.grid.slots())
            .filter(|&k| {
                let (x, y) = centre(&w.grid, k);
                (x - s.x).hypot(y - s.y) <= dr
            })
            .map(|k| f64::from(w.grid.households[k]))
            .sum();
        let urban = hh / (std::f64::consts::PI * dr * dr / 1e6) > w.model.urban_households_per_km2;
        let r = w.model.radius_m[tech][usize::from(urban)];
        if (cx - s.x).hypot(cy - s.y) <= r {
            m |= 1 << s.bit;
        }
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn modelled_equals_brute_force(mut w in world()) {
        let (f, _) = compute(&mut w, CoverageSource::Modelled, false);
        let (fs, _) = compute(&mut w, CoverageSource::Modelled, true);
        for (figs, scen) in [(&f, false), (&fs, true)] {
            for tech in 0..2 {
                let mut covered = vec![0u32; w.grid.ags.len()];
                let mut grey = vec![0u32; w.grid.ags.len()];
                let mut op = vec![[0u32; 4]; w.grid.ags.len()];
                for slot in 0..w.grid.slots() {
                    let m = w.grid.muni[slot];
                    if m == u16::MAX { continue; }
                    let mask = brute_mask(&w, slot, tech, scen);
                    covered[m as usize] += u32::from(mask != 0);
                    grey[m as usize] += u32::from(mask.count_ones() == 1);
                    for (b, o) in op[m as usize].iter_mut().enumerate() {
                        *o += u32::from(mask >> b & 1 == 1);
                    }
                }
                for m in 0..w.grid.ags.len() {
                    prop_assert_eq!(figs[m][tech].cells_covered, covered[m]);
                    prop_assert_eq!(figs[m][tech].grey_cells, grey[m]);
                    let ops: Vec<u32> = figs[m][tech].operators.as_ref().unwrap().iter().map(|o| o.cells_covered).collect();
                    prop_assert_eq!(ops, op[m].to_vec());
                }
            }
        }
    }

    #[test]
    fn shares_bounded_and_municipalities_sum_to_the_state(mut w in world()) {
        for source in [CoverageSource::Reported, CoverageSource::Modelled, CoverageSource::Union] {
            let (f, _) = compute(&mut w, source, false);
            for tech in 0..2 {
                let (mut cells, mut cov, mut hh, mut hhc) = (0u32, 0u32, 0.0f64, 0.0f64);
                for m in &f {
                    let t = &m[tech];
                    prop_assert!(t.households_covered <= t.households + 1e-9);
                    prop_assert!(t.cells_covered <= t.cells);
                    prop_assert_eq!(t.cells_covered + t.dead_cells, t.cells);
                    prop_assert!(t.grey_cells <= t.cells_covered);
                    for o in t.operators.iter().flatten() {
                        prop_assert!(o.cells_covered <= t.cells_covered);
                        prop_assert!(o.households_covered <= t.households_covered + 1e-9);
                    }
                    cells += t.cells; cov += t.cells_covered; hh += t.households; hhc += t.households_covered;
                }
                // The state total, counted directly over the grid.
                let state_cells = w.grid.muni.iter().filter(|&&m| m != u16::MAX).count() as u32;
                let state_hh: f64 = w.grid.households.iter().map(|&h| f64::from(h)).sum();
                prop_assert_eq!(cells, state_cells);
                prop_assert!((hh - state_hh).abs() < 1e-6 * state_hh.max(1.0));
                prop_assert!(hhc <= hh + 1e-9 && cov <= cells);
            }
        }
    }

    #[test]
    fn a_new_site_never_lowers_coverage_and_scenario_is_never_below_actual(mut w in world(), x in 0.0f64..1.0, y in 0.0f64..1.0, bit in 0u8..4) {
        for source in [CoverageSource::Reported, CoverageSource::Modelled, CoverageSource::Union] {
            let (before, _) = compute(&mut w, source, false);
            let (scen, _) = compute(&mut w, source, true);
            let mut w2 = w.clone();
            w2.sites.push(Site {
                id: "NEW".into(), bit,
                x: f64::from(E0) * 100.0 + x * w.grid.cols as f64 * 100.0,
                y: f64::from(N0) * 100.0 + y * w.grid.rows as f64 * 100.0,
                on_air: [true, true], scenario: [true, true], since: [None, None], urban: false,
            });
            let (after, _) = compute(&mut w2, source, false);
            for m in 0..before.len() {
                for t in 0..2 {
                    prop_assert!(after[m][t].cells_covered >= before[m][t].cells_covered);
                    prop_assert!(after[m][t].households_covered >= before[m][t].households_covered - 1e-9);
                    prop_assert!(scen[m][t].cells_covered >= before[m][t].cells_covered);
                    prop_assert!(scen[m][t].households_covered >= before[m][t].households_covered - 1e-9);
                }
            }
        }
    }

    #[test]
    fn regional_restamp_equals_full_stamp(mut w in world(), pick in 0usize..14, dx in -800.0f64..800.0, dy in -800.0f64..800.0) {
        if w.sites.is_empty() { return Ok(()); }
        let (_, mut masks) = compute(&mut w, CoverageSource::Modelled, false);
        let i = pick % w.sites.len();
        let reach = w.model.max_radius_m();
        let old = Rect::around(&w.grid, w.sites[i].x, w.sites[i].y, reach);
        w.sites[i].x += dx;
        w.sites[i].y += dy;
        let new = Rect::around(&w.grid, w.sites[i].x, w.sites[i].y, reach);
        // As Live::sites_changed: re-stamp only the box within reach of the
        // old and new position.
        let mut flags = vec![false; w.grid.ags.len()];
        munis_in(&w.grid, old.union(new), &mut flags);
        let _munis = munis_rect(&w.grid, &flags);
        classify(&w.grid, &w.model, &mut w.sites);
        stamp(&w.grid, &w.model, &w.sites, &mut masks, old.union(new));
        let mut full = Masks::new(&w.grid);
        stamp(&w.grid, &w.model, &w.sites, &mut full, Rect::all(&w.grid));
        for slot in 0..w.grid.slots() {
            if w.grid.muni[slot] == u16::MAX { continue; }
            for t in 0..2 {
                prop_assert_eq!(masks.actual[t][slot], full.actual[t][slot]);
                prop_assert_eq!(masks.extra[t][slot], full.extra[t][slot]);
            }
        }
    }

    #[test]
    fn history_replay_equals_month_by_month_brute_force(mut w in world(), dates in proptest::collection::vec(proptest::option::of(0i64..200), 28), today in 60i64..200) {
        use chrono::{Datelike, NaiveDate};
        let day0 = NaiveDate::from_ymd_opt(2024, 1, 10).unwrap();
        let today = day0 + chrono::Days::new(today as u64);
        for (i, s) in w.sites.iter_mut().enumerate() {
            s.since = [dates[2 * i].map(|d| day0 + chrono::Days::new(d as u64)), dates[2 * i + 1].map(|d| day0 + chrono::Days::new(d as u64))];
        }
        classify(&w.grid, &w.model, &mut w.sites);
        let mut months = Vec::new();
        let mut m = NaiveDate::from_ymd_opt(2024, 2, 1).unwrap();
        while m <= today {
            months.push(m);
            m = m.checked_add_months(chrono::Months::new(1)).unwrap();
        }
        for source in [CoverageSource::Reported, CoverageSource::Modelled, CoverageSource::Union] {
            let points = funkplan_coverage::history::replay(&w.grid, &w.model, &w.sites, source, &months, today);
            prop_assert_eq!(points.len(), months.len() * 2);
            for tech in 0..2 {
                for (k, &month) in months.iter().enumerate() {
                    let end = month.checked_add_months(chrono::Months::new(1)).unwrap().pred_opt().unwrap().min(today);
                    let (mut cells, mut cov, mut hh, mut hhc) = (0u64, 0u64, 0.0f64, 0.0f64);
                    for slot in 0..w.grid.slots() {
                        if w.grid.muni[slot] == u16::MAX { continue; }
                        let (cx, cy) = centre(&w.grid, slot);
                        let reported = source != CoverageSource::Modelled && {
                            let (rc, rm) = w.grid.reported[tech].at(slot);
                            funkplan_coverage::model::combine(CoverageSource::Reported, rc, rm, 0).0 > 0
                        };
                        let modelled = source != CoverageSource::Reported && w.sites.iter().any(|s| {
                            s.on_air[tech] && s.since[tech].is_none_or(|d| d <= end)
                                && (cx - s.x).hypot(cy - s.y) <= w.model.radius_m[tech][usize::from(s.urban)]
                        });
                        let h = f64::from(w.grid.households[slot]);
                        cells += 1;
                        hh += h;
                        if reported || modelled { cov += 1; hhc += h; }
                    }
                    let p = &points[tech * months.len() + k];
                    prop_assert_eq!(p.month, month);
                    prop_assert_eq!(p.month.day(), 1);
                    prop_assert_eq!(p.technology.as_str(), ["lte", "5g"][tech]);
                    prop_assert_eq!((p.cells, p.cells_covered), (cells, cov), "{:?} tech {} month {}", source, tech, month);
                    prop_assert!((p.households - hh).abs() < 1e-9 * hh.max(1.0));
                    prop_assert!((p.households_covered - hhc).abs() < 1e-9 * hh.max(1.0));
                }
            }
        }
    }
}
