//! The planner against oracles that share none of its machinery: coverage
//! by plain distance tests (`hypot`) cell by cell, brute force over the
//! candidates, and the engine's own stamp and sums after adding the plan.

use funkplan_model::{CoverageSource, Technology};
use proptest::prelude::*;

use super::*;
use crate::engine::{aggregate, classify, stamp, Masks, Rect, Scope};
use crate::grid::{Grid, GridInput};
use crate::model::{Model, Site};

const MODEL: Model = Model { radius_m: [[450.0, 250.0], [300.0, 150.0]], urban_households_per_km2: 1500.0, urban_density_radius_m: 300.0 };

fn operators() -> Vec<(u8, String)> {
    vec![(0, "telekom".into()), (1, "vodafone".into()), (2, "telefonica".into())]
}

/// A `rows × cols` grid of two municipalities (west and east halves),
/// integer households (so every sum is exact in any order).
fn grid(rows: i32, cols: i32, hh: &[u8]) -> Grid {
    let mut input = GridInput { ags: vec!["05111000".into(), "05112000".into()], ..Default::default() };
    for n in 0..rows {
        for e in 0..cols {
            input.cells.push((n, e, u16::from(e >= cols / 2)));
            let i = usize::try_from(n * cols + e).unwrap_or(0);
            input.households.push((n, e, f32::from(hh[i % hh.len()])));
        }
    }
    Grid::build(input).expect("grid")
}

fn site(i: usize, bit: u8, x: f64, y: f64, tech: [bool; 2]) -> Site {
    Site { id: format!("S{i}"), bit, x, y, on_air: tech, scenario: tech, since: [None, None], urban: false }
}

#[derive(Debug, Clone)]
struct World {
    grid: Grid,
    sites: Vec<Site>,
    masks: Masks,
}

fn world(rows: i32, cols: i32, hh: &[u8], sites: Vec<Site>) -> World {
    let grid = grid(rows, cols, hh);
    let mut sites = sites;
    classify(&grid, &MODEL, &mut sites);
    let mut masks = Masks::new(&grid);
    stamp(&grid, &MODEL, &sites, &mut masks, Rect::all(&grid));
    World { grid, sites, masks }
}

fn inputs<'a>(w: &'a World, ops: &'a [(u8, String)]) -> Inputs<'a> {
    Inputs { grid: &w.grid, model: &MODEL, source: CoverageSource::Modelled, sites: &w.sites, masks: &w.masks, operators: ops }
}

fn request(tech: Technology, objective: Objective, budget: usize, candidates: Candidates) -> PlanRequest {
    PlanRequest { technology: tech, objective, operator: None, scope: "05".into(), budget, count_grey: false, candidates, limit_ms: 60_000.0 }
}

fn cand(i: usize, op: Option<&str>, x: f64, y: f64, r: f64) -> CandidateInput {
    CandidateInput {
        id: format!("C{i}"),
        operator: op.map(str::to_owned),
        x,
        y,
        technology: Technology::Lte,
        radius: RadiusRule::Metres(r),
        origin: format!("candidates[{i}]"),
    }
}

/// The oracle: the objective of a set of candidate disks `(x, y, r, bit)`
/// by plain distance tests over every cell, with the existing sites'
/// coverage found the same way. Any operator, LTE, scope = all.
fn oracle(w: &World, set: &[(f64, f64, f64, Option<u8>)], grey: bool) -> (f64, u64) {
    let g = &w.grid;
    let (mut hh, mut cells) = (0.0, 0u64);
    for row in 0..g.rows {
        for col in 0..g.cols {
            let slot = row * g.cols + col;
            #[allow(clippy::cast_precision_loss)]
            let (cx, cy) = ((g.e0 as f64 + col as f64) * 100.0 + 50.0, (g.n0 as f64 + row as f64) * 100.0 + 50.0);
            let within = |x: f64, y: f64, r: f64| (cx - x).hypot(cy - y) <= r;
            let mut ops: u16 = 0;
            for s in &w.sites {
                if s.scenario[0] && within(s.x, s.y, MODEL.radius_m[0][usize::from(s.urban)]) {
                    ops |= 1 << s.bit;
                }
            }
            let counted = match ops.count_ones() {
                0 => set.iter().any(|&(x, y, r, _)| within(x, y, r)),
                1 if grey => set.iter().any(|&(x, y, r, b)| b.is_some_and(|b| ops & (1 << b) == 0) && within(x, y, r)),
                _ => false,
            };
            if counted {
                hh += f64::from(g.households[slot]);
                cells += 1;
            }
        }
    }
    (hh, cells)
}

fn disks(cands: &[CandidateInput], ops: &[(u8, String)]) -> Vec<(f64, f64, f64, Option<u8>)> {
    cands
        .iter()
        .map(|c| {
            let RadiusRule::Metres(r) = c.radius else { unreachable!("tests give metres") };
            let bit = c.operator.as_deref().and_then(|o| ops.iter().find(|(_, id)| id == o).map(|(b, _)| *b));
            (c.x, c.y, r, bit)
        })
        .collect()
}

prop_compose! {
    fn instance()(rows in 8i32..22, cols in 8i32..22, hh in prop::collection::vec(0u8..6, 1..40),
                  sites in prop::collection::vec((0u8..3, 0.0f64..1.0, 0.0f64..1.0, any::<bool>()), 0..4),
                  cands in prop::collection::vec((0usize..4, 0.05f64..0.95, 0.05f64..0.95, 100.0f64..700.0), 1..14),
                  grey in any::<bool>())
        -> (World, Vec<CandidateInput>, bool) {
        let (h, w) = (f64::from(rows) * 100.0, f64::from(cols) * 100.0);
        let sites = sites.into_iter().enumerate().map(|(i, (b, fx, fy, lte))| site(i, b, fx * w, fy * h, [lte, true])).collect();
        let names = ["telekom", "vodafone", "telefonica"];
        let cands = cands.into_iter().enumerate().map(|(i, (o, fx, fy, r))| cand(i, names.get(o).copied(), fx * w, fy * h, r)).collect();
        (world(rows, cols, &hh, sites), cands, grey)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// k = 1: greedy picks what brute force over the candidates picks
    /// (the largest gain, the earliest candidate among equals).
    #[test]
    fn first_choice_is_brute_force((w, cands, grey) in instance()) {
        let ops = operators();
        let all = disks(&cands, &ops);
        let gains: Vec<(f64, u64)> = all.iter().map(|d| oracle(&w, std::slice::from_ref(d), grey)).collect();
        let best = gains.iter().map(|g| g.0).fold(0.0, f64::max);
        let mut req = request(Technology::Lte, Objective::Households, 1, Candidates::List(cands.clone()));
        req.count_grey = grey;
        let usable = gains.iter().filter(|g| g.1 > 0).count();
        match plan(inputs(&w, &ops), &req) {
            Ok(p) if best > 0.0 => {
                let want = gains.iter().position(|g| g.0 == best).unwrap_or(usize::MAX);
                prop_assert_eq!(&p.sites[0].id, &cands[want].id);
                prop_assert_eq!(p.sites[0].households, best);
            }
            Ok(p) => {
                // Nothing has households: the gain is 0 whichever is chosen.
                prop_assert!(p.sites.first().is_none_or(|s| s.households == 0.0));
            }
            Err(PlanError::BudgetAboveCandidates { candidates, .. }) => prop_assert_eq!((candidates, usable), (0, 0)),
            Err(e) => prop_assert!(false, "{e}"),
        }
    }

    /// Every claimed marginal gain is the oracle's objective with the
    /// sites up to it minus that without it; the gains never increase;
    /// the cumulative figures add up.
    #[test]
    fn marginal_gains_are_exact_and_non_increasing((w, cands, grey) in instance(), k in 1usize..6, area in any::<bool>()) {
        let ops = operators();
        let all = disks(&cands, &ops);
        let objective = if area { Objective::Area } else { Objective::Households };
        let mut req = request(Technology::Lte, objective, k, Candidates::List(cands.clone()));
        req.count_grey = grey;
        let p = match plan(inputs(&w, &ops), &req) {
            Ok(p) => p,
            Err(PlanError::BudgetAboveCandidates { .. }) => return Ok(()),
            Err(e) => return Err(TestCaseError::fail(e.to_string())),
        };
        let mut chosen = Vec::new();
        let mut before = (0.0, 0u64);
        let mut last = f64::INFINITY;
        for s in &p.sites {
            let i = cands.iter().position(|c| c.id == s.id).expect("chosen is a candidate");
            chosen.push(all[i]);
            let after = oracle(&w, &chosen, grey);
            prop_assert_eq!(s.households, after.0 - before.0, "households of rank {}", s.rank);
            prop_assert_eq!(s.cells, after.1 - before.1, "cells of rank {}", s.rank);
            prop_assert_eq!(s.cumulative_households, after.0);
            prop_assert!(s.gain <= last, "gain of rank {} rose: {} after {}", s.rank, s.gain, last);
            last = s.gain;
            before = after;
        }
        // Everything the candidates together reach, by the oracle.
        let reach = oracle(&w, &all, grey);
        prop_assert_eq!((p.reachable.households, p.reachable.cells), reach);
        let open = oracle(&w, &[(0.0, 0.0, 1e9, None)], false);
        if !grey {
            prop_assert_eq!((p.open.households, p.open.cells), open);
        }
    }

    /// After adding the plan's sites to the scenario, the engine's
    /// scenario figures rise by exactly the plan's cumulative totals.
    #[test]
    fn cumulative_equals_the_scenario_after_the_plan((w, cands, _grey) in instance(), k in 1usize..5) {
        let ops = operators();
        // Sites must have an operator to enter the scenario.
        let cands: Vec<CandidateInput> = cands.into_iter().map(|mut c| { c.operator.get_or_insert_with(|| "telekom".into()); c }).collect();
        let req = request(Technology::Lte, Objective::Households, k, Candidates::List(cands.clone()));
        let p = match plan(inputs(&w, &ops), &req) {
            Ok(p) => p,
            Err(PlanError::BudgetAboveCandidates { .. }) => return Ok(()),
            Err(e) => return Err(TestCaseError::fail(e.to_string())),
        };
        let scope = Scope { source: CoverageSource::Modelled, scenario: true, munis: None, region: Rect::all(&w.grid) };
        let bits: Vec<u8> = ops.iter().map(|(b, _)| *b).collect();
        let before = aggregate(&w.grid, &w.masks, &bits, scope);
        // The plan's sites as planned sites with a fixed radius: a model
        // whose rural and urban LTE radius is the candidate's.
        let mut masks = w.masks.clone();
        for s in &p.sites {
            let bit = ops.iter().find(|(_, id)| Some(id) == s.operator.as_ref()).map(|(b, _)| *b).expect("operator");
            let model = Model { radius_m: [[s.radius_m, s.radius_m], MODEL.radius_m[1]], ..MODEL };
            let planned = Site { on_air: [false, false], scenario: [true, false], ..site(0, bit, s.x, s.y, [false, false]) };
            let mut one = Masks::new(&w.grid);
            stamp(&w.grid, &model, &[planned], &mut one, Rect::all(&w.grid));
            for (m, o) in masks.extra[0].iter_mut().zip(&one.extra[0]) {
                *m |= o;
            }
        }
        let after = aggregate(&w.grid, &masks, &bits, scope);
        let hh: f64 = after.iter().zip(&before).map(|(a, b)| a[0].households_covered - b[0].households_covered).sum();
        let dead: i64 = after.iter().zip(&before).map(|(a, b)| i64::from(b[0].dead_cells) - i64::from(a[0].dead_cells)).sum();
        let last = p.sites.last().map_or((0.0, 0.0), |s| (s.cumulative_households, s.cumulative_area_km2));
        prop_assert_eq!(hh, last.0);
        #[allow(clippy::cast_precision_loss)]
        let closed = dead as f64 * 0.01;
        prop_assert!((closed - last.1).abs() < 1e-9, "{} km² closed, plan says {}", closed, last.1);
    }
}

#[test]
fn bad_requests_are_refused_with_the_reason() {
    let ops = operators();
    let w = world(10, 10, &[1], vec![]);
    let ok = vec![cand(0, Some("telekom"), 250.0, 250.0, 300.0), cand(1, None, 750.0, 750.0, 300.0)];
    let run = |req: &PlanRequest| plan(inputs(&w, &ops), req);
    let base = request(Technology::Lte, Objective::Households, 1, Candidates::List(ok.clone()));
    assert!(run(&base).is_ok());
    assert_eq!(run(&PlanRequest { budget: 0, ..base.clone() }), Err(PlanError::BudgetZero));
    assert_eq!(run(&PlanRequest { budget: 3, ..base.clone() }), Err(PlanError::BudgetAboveCandidates { budget: 3, candidates: 2 }));
    for scope in ["5", "0511", "05111x00", "051110001", ""] {
        assert_eq!(run(&PlanRequest { scope: scope.into(), ..base.clone() }), Err(PlanError::ScopeNotAgs(scope.into())), "{scope}");
    }
    assert_eq!(run(&PlanRequest { scope: "06".into(), ..base.clone() }), Err(PlanError::ScopeEmpty("06".into())));
    let e = run(&PlanRequest { operator: Some("o2".into()), ..base.clone() }).unwrap_err();
    assert!(e.to_string().contains("unknown operator \"o2\" (known: telekom, vodafone, telefonica)"), "{e}");
    let mut dup = ok.clone();
    dup.push(CandidateInput { origin: "candidates[2]".into(), ..ok[0].clone() });
    assert_eq!(
        run(&PlanRequest { candidates: Candidates::List(dup), ..base.clone() }),
        Err(PlanError::DuplicateId { id: "C0".into(), first: "candidates[0]".into(), second: "candidates[2]".into() })
    );
    let mut out = ok.clone();
    out[1].x = 5_000.0;
    let e = run(&PlanRequest { candidates: Candidates::List(out), ..base.clone() }).unwrap_err();
    assert!(matches!(e, PlanError::OutsideState { ref id, .. } if id == "C1"), "{e}");
    let mut bad_op = ok.clone();
    bad_op[1].operator = Some("eplus".into());
    let e = run(&PlanRequest { candidates: Candidates::List(bad_op), ..base.clone() }).unwrap_err();
    assert!(e.to_string().starts_with("candidates[1]: unknown operator \"eplus\""), "{e}");
    let mut nr = ok.clone();
    nr[0].technology = Technology::Nr;
    assert!(matches!(run(&PlanRequest { candidates: Candidates::List(nr), ..base.clone() }), Err(PlanError::Mismatch { .. })));
    let mut r0 = ok.clone();
    r0[0].radius = RadiusRule::Metres(0.0);
    assert!(matches!(run(&PlanRequest { candidates: Candidates::List(r0), ..base.clone() }), Err(PlanError::BadRadius { .. })));
    assert_eq!(run(&PlanRequest { candidates: Candidates::List(vec![]), ..base.clone() }), Err(PlanError::NoCandidates));
    assert_eq!(run(&PlanRequest { candidates: Candidates::Lattice { spacing_m: 10.0 }, ..base.clone() }), Err(PlanError::BadSpacing(10.0)));
    assert_eq!(run(&PlanRequest { count_grey: true, operator: Some("telekom".into()), ..base.clone() }), Err(PlanError::GreyWithOperator));
    assert_eq!(run(&PlanRequest { objective: Objective::Mix { weight: 1.5 }, ..base.clone() }), Err(PlanError::BadWeight(1.5)));
    let e = run(&PlanRequest { limit_ms: 1e-6, ..base.clone() }).unwrap_err();
    assert!(matches!(e, PlanError::TooLong { candidates: 2, .. }), "{e}");
    assert!(e.to_string().contains("above the limit"), "{e}");
    let reported = Inputs { source: CoverageSource::Reported, ..inputs(&w, &ops) };
    assert_eq!(plan(reported, &base), Err(PlanError::ReportedOnly));
}

/// A lattice over a grid with one covered corner: points only over open
/// cells, the whole open area reachable, the counts for 50/90/100 % in
/// order; an existing site of another operator is offered for sharing.
#[test]
fn lattice_covers_the_open_cells_and_offers_sharing() {
    let ops = operators();
    let w = world(20, 20, &[2, 0, 1], vec![site(0, 1, 300.0, 300.0, [true, false]), site(1, 0, 1500.0, 1500.0, [false, true])]);
    let mut req = request(Technology::Lte, Objective::Area, 2, Candidates::Lattice { spacing_m: 500.0 });
    let p = plan(inputs(&w, &ops), &req).expect("plan");
    assert!(p.candidates_total > 4);
    // Lattice points lie in the state, so corner cells more than 450 m
    // from every point inside stay out of reach; the rest is reachable.
    assert!(p.reachable.cells <= p.open.cells && p.reachable.cells * 10 >= p.open.cells * 8, "{:?} of {:?}", p.reachable, p.open);
    let [a, b, c] = p.sites_for;
    assert!(a.is_some() && b.is_none_or(|b| a <= Some(b)), "{:?}", p.sites_for);
    assert_eq!(b.is_some(), p.reachable.cells * 10 >= p.open.cells * 9, "{:?}", p.sites_for);
    assert_eq!(c.is_some(), p.reachable == p.open, "100 % only when reachable");
    assert!(p.sites.iter().any(|s| s.kind == "lattice"));
    // One operator's gaps: the other operator's mast is a sharing candidate.
    req.operator = Some("telekom".into());
    req.budget = 1;
    let p = plan(inputs(&w, &ops), &req).expect("plan");
    assert!(p.candidates_total > 0);
    let mut shares = Vec::new();
    generate(inputs(&w, &ops), 0, Some(0), Some("telekom"), &elements(inputs(&w, &ops), 0, Some(0), false, &[true, true], Rect::all(&w.grid)), Rect::all(&w.grid), 500.0, &mut shares);
    assert!(shares.iter().any(|c| c.id == "share:S0" && c.kind == "share"), "{:?}", shares.iter().map(|c| &c.id).collect::<Vec<_>>());
    // Telekom's own site lacks LTE: an upgrade.
    assert!(shares.iter().any(|c| c.id == "upgrade:S1"));
}
