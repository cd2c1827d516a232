//! Criterion micro-benchmarks of the engine's hot loops (issue 7): disk
//! stamping, the urban/rural classification (a disk sum per site) and the
//! per-municipality aggregation, on a synthetic grid of NRW density.
//!
//! The grid is 1,200 × 1,200 slots (1.44 M cells, ~40 % of NRW's 3.4 M) cut
//! into 400 municipalities of 60 × 60 cells, with households peaking in one
//! town per municipality, and 12,000 sites of 4 operators (~40 % of NRW's
//! ~30 k): the same density per cell as the `nrw` demo data, so per-cell
//! costs carry over. Deterministic (no RNG crate: a fixed LCG).
//!
//! `cargo bench -p funkplan-coverage --bench engine`

#![allow(clippy::unwrap_used, clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use funkplan_coverage::engine::{aggregate, classify, stamp, Masks, Rect, Scope};
use funkplan_coverage::grid::{Grid, GridInput};
use funkplan_coverage::model::{Model, Site};
use funkplan_model::CoverageSource;

const SIDE: i32 = 1200;
const MUNI: i32 = 60;
const SITES: usize = 12_000;
const N0: i32 = 56_000;
const E0: i32 = 3_000;

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn grid() -> Grid {
    let per_side = SIDE / MUNI;
    let mut input = GridInput::default();
    for i in 0..per_side * per_side {
        input.ags.push(format!("05{:06}", i));
    }
    for r in 0..SIDE {
        for c in 0..SIDE {
            let m = (r / MUNI) * per_side + c / MUNI;
            input.cells.push((N0 + r, E0 + c, u16::try_from(m).unwrap()));
            // A town in the middle of each municipality over a rural floor.
            let (dr, dc) = ((r % MUNI - MUNI / 2) as f64, (c % MUNI - MUNI / 2) as f64);
            let d2 = dr * dr + dc * dc;
            let h = 0.3 + 60.0 * (-d2 / 50.0).exp();
            input.households.push((N0 + r, E0 + c, h as f32));
        }
    }
    Grid::build(input).unwrap()
}

fn model() -> Model {
    // The seeded model (seeds/coverage_model.json): LTE urban/rural, 5G urban/rural.
    Model { radius_m: [[1_200.0, 4_000.0], [600.0, 3_000.0]], urban_households_per_km2: 400.0, urban_density_radius_m: 1_000.0 }
}

fn sites(g: &Grid) -> Vec<Site> {
    let mut rng = Lcg(7);
    let w = (g.cols as f64) * 100.0;
    let h = (g.rows as f64) * 100.0;
    (0..SITES)
        .map(|i| {
            let x = f64::from(g.e0) * 100.0 + rng.next() * w;
            let y = f64::from(g.n0) * 100.0 + rng.next() * h;
            let five_g = rng.next() < 0.6;
            Site {
                id: format!("S{i}"),
                bit: u8::try_from(i % 4).unwrap(),
                x,
                y,
                on_air: [rng.next() < 0.9, five_g],
                scenario: [true, five_g || rng.next() < 0.5],
                since: [None, None],
                urban: false,
            }
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let g = grid();
    let m = model();
    let mut s = sites(&g);
    classify(&g, &m, &mut s);
    let bits = [0u8, 1, 2, 3];

    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    group.throughput(Throughput::Elements(g.cells as u64));

    group.bench_function("classify_12k_sites", |b| {
        b.iter_batched_ref(|| s.clone(), |s| classify(&g, &m, s), BatchSize::LargeInput);
    });

    let mut masks = Masks::new(&g);
    group.bench_function("stamp_full_grid", |b| {
        b.iter(|| stamp(&g, &m, &s, &mut masks, Rect::all(&g)));
    });

    stamp(&g, &m, &s, &mut masks, Rect::all(&g));
    for (name, source, scenario) in [
        ("aggregate_modelled_actual", CoverageSource::Modelled, false),
        ("aggregate_modelled_scenario", CoverageSource::Modelled, true),
        ("aggregate_union_actual", CoverageSource::Union, false),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| aggregate(&g, &masks, &bits, Scope { source, scenario, munis: None, region: Rect::all(&g) }));
        });
    }

    // An incremental update: one site's disk re-stamped and its
    // municipalities re-summed (what `sites_changed` does for one write).
    let one = &s[SITES / 2];
    let region = Rect::around(&g, one.x, one.y, m.max_radius_m());
    let mut flags = vec![false; g.ags.len()];
    funkplan_coverage::engine::munis_in(&g, region, &mut flags);
    let rect = funkplan_coverage::engine::munis_rect(&g, &flags);
    group.throughput(Throughput::Elements(1));
    group.bench_function("incremental_one_site", |b| {
        b.iter(|| {
            stamp(&g, &m, &s, &mut masks, rect);
            aggregate(&g, &masks, &bits, Scope { source: CoverageSource::Modelled, scenario: false, munis: Some(&flags), region: rect })
        });
    });
    group.finish();
}

criterion_group!(engine, benches);
criterion_main!(engine);
