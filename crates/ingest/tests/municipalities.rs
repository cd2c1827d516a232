//! `ingest municipalities`: validation rules, atomicity, idempotence, the grid.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use funkplan_db::testing::TestDb;
use funkplan_ingest::Kind;

fn fc(features: &str) -> String {
    format!(r#"{{"type":"FeatureCollection","crs":{{"type":"name","properties":{{"name":"EPSG:25832"}}}},"features":[{features}]}}"#)
}

fn feature(ags: &str, name: &str, ring: &str) -> String {
    format!(r#"{{"type":"Feature","properties":{{"AGS":"{ags}","GEN":"{name}"}},"geometry":{{"type":"Polygon","coordinates":[{ring}]}}}}"#)
}

const SQUARE: &str = "[[350000,5640000],[351000,5640000],[351000,5641000],[350000,5641000],[350000,5640000]]";

#[tokio::test]
async fn loads_two_municipalities_builds_the_grid_and_reingest_is_a_noop() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    let p = tmp_file("munis.geojson", &two_squares());
    let s = ingest(&mut c, Kind::Municipalities, &p, &opts()).await.unwrap();
    assert_eq!((s.rows, s.inserted, s.updated, s.unchanged), (2, 2, 0, 0));
    let cells: Vec<(String, i64)> = c
        .query("SELECT ags::text, count(*) FROM grid_cell GROUP BY ags ORDER BY ags", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(cells, vec![("05111000".into(), 100), ("05111004".into(), 100)]);
    // The cell (n, e) = (56400, 3500) is the south-west one of the first square.
    let ags: String = c.query_one("SELECT ags::text FROM grid_cell WHERE n = 56400 AND e = 3500", &[]).await.unwrap().get(0);
    assert_eq!(ags, "05111000");
    let (syn, area): (bool, f64) = {
        let r = c.query_one("SELECT synthetic, area_km2 FROM municipality WHERE ags = '05111000'", &[]).await.unwrap();
        (r.get(0), r.get(1))
    };
    assert!(syn);
    assert!((area - 1.0).abs() < 1e-9);
    let run: (String, String, i64) = {
        let r = c.query_one("SELECT kind, sha256, rows FROM ingest_run", &[]).await.unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!(run.0, "municipalities");
    assert_eq!(run.1, s.sha256);
    assert_eq!(run.1.len(), 64);
    assert_eq!(run.2, 2);

    let before: Vec<String> = c.query("SELECT updated_at::text FROM municipality ORDER BY ags", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    let s2 = ingest(&mut c, Kind::Municipalities, &p, &opts()).await.unwrap();
    assert_eq!((s2.inserted, s2.updated, s2.unchanged), (0, 0, 2));
    let after: Vec<String> = c.query("SELECT updated_at::text FROM municipality ORDER BY ags", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(before, after);
    let n: i64 = c.query_one("SELECT count(*) FROM grid_cell", &[]).await.unwrap().get(0);
    assert_eq!(n, 200);
}

#[tokio::test]
async fn dry_run_changes_nothing_but_counts() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    let p = tmp_file("munis.geojson", &two_squares());
    let before = checksum(&c).await;
    let s = ingest(&mut c, Kind::Municipalities, &p, &funkplan_ingest::Options { dry_run: true, ..opts() }).await.unwrap();
    assert_eq!(s.inserted, 2);
    assert!(s.paragraph().starts_with("Dry run"));
    assert_eq!(checksum(&c).await, before);
}

#[tokio::test]
async fn every_bad_feature_is_reported_and_nothing_changes() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    // Something in the tables first, to see that it stays.
    ingest(&mut c, Kind::Municipalities, &tmp_file("ok.geojson", &two_squares()), &opts()).await.unwrap();
    let features = [
        feature("0511100", "Kurz", SQUARE),                                                               // 1: AGS 7 digits
        feature("05111008", "Offen", "[[350000,5640000],[351000,5640000],[351000,5641000],[350000,5641000]]"), // 2: not closed
        feature("05111012", "Wenig", "[[350000,5640000],[351000,5640000],[350000,5640000]]"),              // 3: too few points
        feature("05111016", "Schleife", "[[350000,5640000],[351000,5641000],[351000,5640000],[350000,5641000],[350000,5640000]]"), // 4: self-intersecting
        feature("05111016", "Doppelt", SQUARE),                                                           // 5: duplicate AGS
        feature("05111020", "Fern", "[[350000,5640000],[351000,5640000],[351000,99999999],[350000,5640000]]"), // 6: outside valid area
        feature("06411000", "Hessen", SQUARE),                                                            // 7: outside --state 05
        r#"{"type":"Feature","properties":{"AGS":"05111024"},"geometry":{"type":"Polygon","coordinates":[[[350000,5640000],[351000,5640000],[351000,5641000],[350000,5640000]]]}}"#.to_owned(), // 8: no GEN
        r#"{"type":"Feature","properties":{"AGS":5111028,"GEN":"Zahl"},"geometry":{"type":"Point","coordinates":[350000,5640000]}}"#.to_owned(), // 9: numeric AGS, point
    ];
    let p = tmp_file("bad.geojson", &fc(&features.join(",")));
    let o = funkplan_ingest::Options { state: Some("05".into()), ..opts() };
    let lines = must_fail(&mut c, Kind::Municipalities, &p, &o).await;
    has(&lines, &["bad.geojson", "feature 1", "AGS", "0511100", "8 digits"]);
    has(&lines, &["feature 2", "ring 1", "not closed"]);
    has(&lines, &["feature 3", "ring 1", "at least 4 positions"]);
    has(&lines, &["feature 5", "AGS", "duplicate AGS: also in feature 4"]);
    has(&lines, &["feature 6", "position 3", "outside the valid area of EPSG:25832"]);
    has(&lines, &["feature 7", "AGS", "06411000", "outside state 05"]);
    has(&lines, &["feature 8", "GEN", "missing name"]);
    has(&lines, &["feature 9", "AGS", "leading zero"]);
    has(&lines, &["feature 9", "geometry.type", "Polygon or MultiPolygon"]);

    // Self-intersection is found by PostGIS once the rest is fine.
    let p = tmp_file("bowtie.geojson", &fc(&feature("05111016", "Schleife", "[[350000,5640000],[351000,5641000],[351000,5640000],[350000,5641000],[350000,5640000]]")));
    let lines = must_fail(&mut c, Kind::Municipalities, &p, &opts()).await;
    has(&lines, &["bowtie.geojson", "feature 1", "geometry", "invalid geometry", "Self-intersection", "--make-valid"]);
    // --make-valid repairs it.
    let s = ingest(&mut c, Kind::Municipalities, &p, &funkplan_ingest::Options { make_valid: true, ..opts() }).await.unwrap();
    assert_eq!(s.inserted, 1);
    assert_eq!(s.detail["repaired"], 1);
    let area: f64 = c.query_one("SELECT area_km2 FROM municipality WHERE ags = '05111016'", &[]).await.unwrap().get(0);
    assert!((area - 0.5).abs() < 1e-6, "{area}");
}

#[tokio::test]
async fn file_level_errors() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    let lines = must_fail(&mut c, Kind::Municipalities, &tmp_file("broken.geojson", "{\"type\": \"FeatureCollection\", \"features\": [}"), &opts()).await;
    has(&lines, &["broken.geojson", "file", "malformed JSON", "line 1"]);
    let lines = must_fail(&mut c, Kind::Municipalities, &tmp_file("fc.geojson", "{\"type\": \"Feature\"}"), &opts()).await;
    has(&lines, &["fc.geojson", "not a GeoJSON FeatureCollection"]);
    let lines = must_fail(
        &mut c,
        Kind::Municipalities,
        &tmp_file("crs.geojson", r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:2056"}},"features":[]}"#),
        &opts(),
    )
    .await;
    has(&lines, &["crs.geojson", "crs", "not supported"]);
}

#[tokio::test]
async fn wgs84_input_is_reprojected() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    // No crs member: EPSG:4326. A ~1 km box near Cologne.
    let gj = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"AGS":"05315000","GEN":"Köln-Box"},
      "geometry":{"type":"Polygon","coordinates":[[[6.95,50.93],[6.964,50.93],[6.964,50.939],[6.95,50.939],[6.95,50.93]]]}}]}"#;
    ingest(&mut c, Kind::Municipalities, &tmp_file("wgs.geojson", gj), &opts()).await.unwrap();
    // Compare with PostGIS's own (PROJ) transformation of the same ring.
    let r = c
        .query_one(
            "SELECT ST_HausdorffDistance(geom, ST_Transform(ST_SetSRID(ST_GeomFromText('MULTIPOLYGON(((6.95 50.93,6.964 50.93,6.964 50.939,6.95 50.939,6.95 50.93)))'), 4326), 25832)), area_km2 FROM municipality",
            &[],
        )
        .await
        .unwrap();
    let (dist, area): (f64, f64) = (r.get(0), r.get(1));
    assert!(dist < 0.05, "reprojection differs from PROJ by {dist} m");
    assert!(area > 0.9 && area < 1.1, "{area}");
    let cells: i64 = c.query_one("SELECT count(*) FROM grid_cell", &[]).await.unwrap().get(0);
    assert!((90..=110).contains(&cells), "{cells}");
}
