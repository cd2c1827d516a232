//! Helpers shared by the ingest tests: temp files, table checksums.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;

use funkplan_ingest::{Error, Kind, Options, Summary};

pub fn tmp_file(name: &str, body: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("funkplan-ingest-{}-{}", std::process::id(), rand_u32()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

fn rand_u32() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Today is 2026-11-23 for the tests; coverage files are the release of
/// 2026-10-01 unless a test says otherwise.
pub fn opts() -> Options {
    Options { today: chrono::NaiveDate::from_ymd_opt(2026, 11, 23), as_of: chrono::NaiveDate::from_ymd_opt(2026, 10, 1), ..Options::default() }
}

/// [`opts`] for a partial coverage file, merged into the release of its date.
pub fn partial() -> Options {
    Options { partial: true, ..opts() }
}

/// One checksum over every table an ingest may touch.
pub async fn checksum(c: &tokio_postgres::Client) -> String {
    let mut parts = Vec::new();
    for t in ["municipality", "grid_cell", "household_cell", "reported_coverage", "site", "measure", "ingest_run"] {
        let sql = format!("SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), 'empty') FROM {t} t");
        let s: String = c.query_one(&sql, &[]).await.unwrap().get(0);
        parts.push(format!("{t}:{s}"));
    }
    parts.join(",")
}

pub async fn ingest(c: &mut tokio_postgres::Client, kind: Kind, path: &std::path::Path, o: &Options) -> Result<Summary, Error> {
    funkplan_ingest::ingest(c, kind, path, o).await
}

/// Run an ingest that must fail; check nothing changed; return the problems as text lines.
pub async fn must_fail(c: &mut tokio_postgres::Client, kind: Kind, path: &std::path::Path, o: &Options) -> Vec<String> {
    let before = checksum(c).await;
    let err = ingest(c, kind, path, o).await.expect_err("ingest should fail");
    assert_eq!(checksum(c).await, before, "a failed ingest changed the database");
    match &err {
        Error::Invalid { problems, total, .. } => {
            assert!(*total >= problems.len() as u64);
            problems.iter().map(ToString::to_string).collect()
        }
        other => panic!("expected Invalid, got {other}"),
    }
}

/// Assert some problem line contains all the given fragments.
pub fn has(lines: &[String], fragments: &[&str]) {
    assert!(
        lines.iter().any(|l| fragments.iter().all(|f| l.contains(f))),
        "no problem containing {fragments:?} in:\n{}",
        lines.join("\n")
    );
}

/// Two 1 km × 1 km municipalities side by side in EPSG:25832 (100 cells each).
pub fn two_squares() -> String {
    r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::25832"}},"features":[
{"type":"Feature","properties":{"AGS":"05111000","GEN":"Beispielstadt","BEZ":"Stadt","EWZ":1200,"synthetic":true},
 "geometry":{"type":"Polygon","coordinates":[[[350000,5640000],[351000,5640000],[351000,5641000],[350000,5641000],[350000,5640000]]]}},
{"type":"Feature","properties":{"AGS":"05111004","GEN":"Musterdorf","synthetic":true},
 "geometry":{"type":"MultiPolygon","coordinates":[[[[351000,5640000],[352000,5640000],[352000,5641000],[351000,5641000],[351000,5640000]]]]}}
]}"#
    .to_owned()
}

/// Municipalities + two sites, for the site and measure tests.
pub async fn base(c: &mut tokio_postgres::Client) {
    let m = tmp_file("m.geojson", &two_squares());
    ingest(c, Kind::Municipalities, &m, &opts()).await.unwrap();
    let s = tmp_file(
        "sites.csv",
        "site_id,operator,lon,lat,status,technologies,planned_date,on_air_date,synthetic\n\
         S-1,telekom,6.87,50.92,on_air,lte,,2015-03-01,true\n\
         S-2,vodafone,6.88,50.92,planned,,2026-05-01,,true\n",
    );
    ingest(c, Kind::Sites, &s, &opts()).await.unwrap();
}
