//! Criterion micro-benchmarks of the ingest's per-row hot paths (issue 7):
//! reprojecting census cell centres EPSG:3035 → 25832 (once per row of a
//! 3.4 M-row household file), WGS84 → 25832 (sites), the grid-cell lookup
//! that finds households outside every municipality, and rasterising a
//! municipality polygon onto the 100 m grid.
//!
//! `cargo bench -p funkplan-ingest --bench parsers`

#![allow(clippy::unwrap_used, clippy::cast_precision_loss, clippy::cast_possible_truncation)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use funkplan_ingest::crs::{Crs, ToUtm32};
use funkplan_ingest::grid::{rasterise, CellSet, MultiPolygon};

const POINTS: usize = 100_000;

/// Census 100 m cell centres over a 100 km × 100 km block of NRW in
/// EPSG:3035, row by row as in the Zensus files.
fn laea_points() -> Vec<(f64, f64)> {
    (0..POINTS)
        .map(|i| {
            let (r, c) = ((i / 1000) as f64, (i % 1000) as f64);
            (4_030_050.0 + c * 100.0, 3_050_050.0 + r * 100.0)
        })
        .collect()
}

/// A 24-vertex municipality outline (the VG5000 shape of the real data)
/// about 12 km across, in EPSG:25832.
fn municipality() -> MultiPolygon {
    let (cx, cy) = (356_000.0, 5_645_000.0);
    let mut ring: Vec<(f64, f64)> = (0..24)
        .map(|k| {
            let a = f64::from(k) / 24.0 * std::f64::consts::TAU;
            let r = 6_000.0 + 1_500.0 * (3.0 * a).sin();
            (cx + r * a.cos(), cy + r * a.sin())
        })
        .collect();
    ring.push(ring[0]);
    vec![vec![ring]]
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("ingest");
    g.sample_size(10);

    let pts = laea_points();
    let laea = ToUtm32::new(Crs::LAEA).unwrap();
    g.throughput(Throughput::Elements(POINTS as u64));
    g.bench_function("reproject_3035_to_25832_100k", |b| {
        b.iter(|| {
            let mut s = 0.0;
            for &(x, y) in &pts {
                let (e, n) = laea.project(x, y).unwrap();
                s += e + n;
            }
            black_box(s)
        });
    });

    let wgs = ToUtm32::new(Crs::WGS84).unwrap();
    let lonlat: Vec<(f64, f64)> = (0..POINTS).map(|i| (6.0 + (i % 1000) as f64 * 0.002, 50.5 + (i / 1000) as f64 * 0.01)).collect();
    g.bench_function("reproject_4326_to_25832_100k", |b| {
        b.iter(|| {
            let mut s = 0.0;
            for &(x, y) in &lonlat {
                let (e, n) = wgs.project(x, y).unwrap();
                s += e + n;
            }
            black_box(s)
        });
    });

    let mp = municipality();
    let mut cells = Vec::new();
    rasterise(&mp, |n, e| cells.push((n, e)));
    g.throughput(Throughput::Elements(cells.len() as u64));
    g.bench_function("rasterise_municipality", |b| {
        b.iter(|| {
            let mut k = 0u64;
            rasterise(black_box(&mp), |n, e| k = k.wrapping_add((n as u64) ^ (e as u64)));
            black_box(k)
        });
    });

    let set = CellSet::from_cells(&cells);
    let probes: Vec<(i32, i32)> = cells.iter().map(|&(n, e)| (n + (e & 3), e - 1)).collect();
    g.throughput(Throughput::Elements(probes.len() as u64));
    g.bench_function("cellset_contains", |b| {
        b.iter(|| probes.iter().filter(|&&(n, e)| set.contains(n, e)).count());
    });
    g.finish();
}

criterion_group!(ingest, benches);
criterion_main!(ingest);
