//! The engine's unit tests, on small hand-made grids.

use funkplan_model::CoverageSource;

use super::*;
use crate::grid::{Grid, GridInput, MAX_BIT};
use crate::model::{Model, Site};

fn grid(n: i32, e: i32, rows: i32, cols: i32) -> Grid {
    let mut input = GridInput { ags: vec!["05000001".into()], ..Default::default() };
    for i in 0..rows {
        for j in 0..cols {
            input.cells.push((n + i, e + j, 0));
            input.households.push((n + i, e + j, 1.0));
        }
    }
    Grid::build(input).unwrap()
}

fn model(r: f64) -> Model {
    Model { radius_m: [[r, r], [r / 2.0, r / 2.0]], urban_households_per_km2: 1e9, urban_density_radius_m: 1000.0 }
}

fn site(x: f64, y: f64, bit: u8) -> Site {
    Site {
        id: "S".into(),
        bit,
        x,
        y,
        on_air: [true, false],
        scenario: [true, true],
        since: [None, None],
        urban: false,
    }
}

#[test]
fn disk_is_inclusive_and_matches_brute_force() {
    let g = grid(0, 0, 60, 60);
    for (x, y, r) in [(3000.0, 3000.0, 1000.0), (3050.0, 2950.0, 1000.0), (123.4, 5876.5, 777.7), (3000.0, 3000.0, 50.0)] {
        let mut m = Masks::new(&g);
        stamp(&g, &model(r), &[site(x, y, 2)], &mut m, Rect::all(&g));
        for row in 0..60 {
            for col in 0..60 {
                let cx = f64::from(col) * 100.0 + 50.0;
                let cy = f64::from(row) * 100.0 + 50.0;
                let want = (cx - x).hypot(cy - y) <= r;
                let slot = g.slot(row, col).unwrap();
                assert_eq!(m.actual[0][slot] == 4, want, "cell {row},{col} for site {x},{y} r {r}");
            }
        }
    }
    // A site at a cell corner with r = 50·√2 exactly reaches the four
    // centres around it only if ≤ is inclusive: here r = 100 reaches
    // the centre 100 m straight away.
    let mut m = Masks::new(&g);
    stamp(&g, &model(100.0), &[site(3050.0, 3050.0, 0)], &mut m, Rect::all(&g));
    let covered = m.actual[0].iter().filter(|&&v| v != 0).count();
    assert_eq!(covered, 5, "centre plus four neighbours at exactly 100 m");
}

#[test]
fn masks_of_many_operators_match_brute_force() {
    // 150 columns: two full words of bits and a partial one per row;
    // operator bits up to the highest the engine supports.
    let g = grid(0, 0, 40, 150);
    let bits = [0u8, 5, 9, MAX_BIT];
    let sites: Vec<Site> = (0..24)
        .map(|i| {
            let f = f64::from(i);
            site(350.0 + (f * 613.7) % 14_300.0, 120.0 + (f * 271.3) % 3_800.0, bits[i as usize % 4])
        })
        .collect();
    let mut m = Masks::new(&g);
    stamp(&g, &model(900.0), &sites, &mut m, Rect::all(&g));
    for row in 0..40 {
        for col in 0..150 {
            let (cx, cy) = (f64::from(col) * 100.0 + 50.0, f64::from(row) * 100.0 + 50.0);
            let want = sites.iter().filter(|s| (cx - s.x).hypot(cy - s.y) <= 900.0).fold(0, |a, s| a | 1 << s.bit);
            assert_eq!(m.actual[0][g.slot(row, col).unwrap()], want, "cell {row},{col}");
        }
    }
}

#[test]
fn a_site_with_no_position_covers_nothing() {
    let g = grid(0, 0, 20, 20);
    for (x, y) in [(f64::NAN, 1000.0), (1000.0, f64::NAN), (f64::INFINITY, 1000.0)] {
        let mut m = Masks::new(&g);
        stamp(&g, &model(500.0), &[site(x, y, 0)], &mut m, Rect::all(&g));
        assert!(m.actual[0].iter().all(|&v| v == 0), "site at ({x}, {y})");
    }
}

#[test]
fn aggregate_counts_and_scenario() {
    let g = grid(0, 0, 10, 10);
    let mut s1 = site(250.0, 250.0, 0);
    s1.on_air = [true, false];
    s1.scenario = [true, true];
    let mut m = Masks::new(&g);
    stamp(&g, &model(100.0), &[s1], &mut m, Rect::all(&g));
    let sc = Scope { source: CoverageSource::Modelled, scenario: false, munis: None, region: Rect::all(&g) };
    let f = aggregate(&g, &m, &[0, 1], sc);
    assert_eq!(f[0][0].cells, 100);
    assert_eq!(f[0][0].cells_covered, 5);
    assert_eq!(f[0][0].grey_cells, 5);
    assert_eq!(f[0][0].dead_cells, 95);
    assert!((f[0][0].households_covered - 5.0).abs() < 1e-9);
    assert_eq!(f[0][1].cells_covered, 0);
    let ops = f[0][0].operators.as_ref().unwrap();
    assert_eq!(ops[0].cells_covered, 5);
    assert_eq!(ops[1].cells_covered, 0);
    let f = aggregate(&g, &m, &[0, 1], Scope { scenario: true, ..sc });
    assert_eq!(f[0][1].cells_covered, 1, "5G radius 50 m reaches only the site's own cell");
    // Reported counts only: per-operator figures absent.
    let f = aggregate(&g, &m, &[0, 1], Scope { source: CoverageSource::Reported, ..sc });
    assert!(f[0][0].operators.is_some(), "no reported rows at all: every set is the known empty set");
}
