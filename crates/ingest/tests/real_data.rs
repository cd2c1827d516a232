//! The real open files of the repository's data/ (see its README for the
//! counts and sources), through the same ingest as the CLI. The regulator's
//! coverage file (Bremen) is not shipped in data/; it is read from the
//! project's shared data set ../shared/data when that is present.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use common::*;
use funkplan_db::testing::TestDb;
use funkplan_ingest::Kind;

/// `data/NAME` of the repository (shipped with it: must exist).
fn data(name: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data").join(name);
    assert!(p.exists(), "real data file missing: {}", p.display());
    p
}

/// `../shared/data/NAME` next to the repository, when that is there.
fn shared(name: &str) -> Option<PathBuf> {
    Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data").join(name)).filter(|p| p.exists())
}

#[tokio::test]
async fn nrw_municipalities_and_census_households() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    let o = funkplan_ingest::Options { state: Some("05".into()), ..opts() };
    let s = ingest(&mut c, Kind::Municipalities, &data("nrw-gemeinden-vg5000-2021.geojson"), &o).await.unwrap();
    assert_eq!((s.rows, s.inserted), (396, 396));
    let (n, area, dus): (i64, f64, String) = {
        let r = c.query_one("SELECT count(*), sum(area_km2), max(name) FILTER (WHERE ags = '05111000') FROM municipality", &[]).await.unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!(n, 396);
    assert_eq!(dus, "Düsseldorf");
    // NRW is 34,112 km²; VG5000 is coarse.
    assert!((area - 34_112.0).abs() < 0.02 * 34_112.0, "{area}");
    // The grid: one cell per hectare of the state, equal to the area within rounding.
    let cells: i64 = c.query_one("SELECT count(*) FROM grid_cell", &[]).await.unwrap().get(0);
    assert!((cells as f64 - area * 100.0).abs() < 0.001 * area * 100.0, "{cells} cells vs {area} km²");
    assert_eq!(s.detail["grid_cells"], cells);

    let s = ingest(&mut c, Kind::Households, &data("nrw-zensus2022-1km.csv"), &opts()).await.unwrap();
    assert_eq!(s.rows, 34_098);
    let total = s.detail["households_total"].as_f64().unwrap();
    // README: Σ Einwohner / HHGroesse_D over cells with both > 0 ≈ 8.17 M.
    assert!((total - 8_170_000.0).abs() < 0.01 * 8_170_000.0, "{total}");
    let outside = s.detail["outside_households"].as_f64().unwrap();
    assert!(outside > 0.0 && outside < 0.02 * total, "outside {outside}");
    assert!(s.paragraph().contains("lie outside every municipality"));
    let (inside, all): (f64, f64) = {
        let r = c
            .query_one(
                "SELECT sum(h.households::float8) FILTER (WHERE g.n IS NOT NULL), sum(h.households::float8) \
                 FROM household_cell h LEFT JOIN grid_cell g USING (n, e)",
                &[],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert!((all - total).abs() < 1e-4 * total, "{all} vs {total}");
    assert!((inside + outside - total).abs() < 1e-4 * total, "{inside} + {outside} vs {total}");
    // Population: 17,525,164 in the file, less the 6,720 people in the 1,118
    // cells whose household size is -1 or -9 (households unknown, not stored).
    assert_eq!(s.detail["population_without_household_size"], 1118);
    let pop: f64 = c.query_one("SELECT sum(population::float8) FROM household_cell", &[]).await.unwrap().get(0);
    assert!((pop - (17_525_164.0 - 6_720.0)).abs() < 1.0, "{pop}");
}

#[tokio::test]
async fn bremen_coverage_file() {
    let Some(file) = shared("bnetza-mobilfunk-monitoring-2024-01-bremen.csv") else {
        eprintln!("skipped: ../shared/data/bnetza-mobilfunk-monitoring-2024-01-bremen.csv is not there (not shipped in data/)");
        return;
    };
    let db = TestDb::new().await;
    let mut c = db.client().await;
    let s = ingest(&mut c, Kind::Coverage, &file, &opts()).await.unwrap();
    assert_eq!((s.rows, s.inserted), (40_255, 40_255));
    let (n, no_lte, no_nr): (i64, i64, i64) = {
        let r = c
            .query_one("SELECT count(*), count(*) FILTER (WHERE lte_count = 0), count(*) FILTER (WHERE nr_count = 0) FROM reported_coverage", &[])
            .await
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!((n, no_lte, no_nr), (40_255, 0, 3));
    let again = ingest(&mut c, Kind::Coverage, &file, &opts()).await.unwrap();
    assert_eq!(again.unchanged, 40_255);
}
