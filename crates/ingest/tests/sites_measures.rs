//! `ingest sites` and `ingest measures`: validation, idempotence, triggers.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use funkplan_db::testing::TestDb;
use funkplan_ingest::Kind;

#[tokio::test]
async fn sites_load_from_csv_and_geojson_and_reingest_keeps_versions() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    base(&mut c).await;
    let r = c.query_one("SELECT ags::text, technologies, synthetic, version FROM site WHERE site_id = 'S-1'", &[]).await.unwrap();
    assert_eq!(r.get::<_, Option<String>>(0), None); // 6.87/50.92 is not in the test squares
    assert_eq!(r.get::<_, Vec<String>>(1), vec!["lte".to_owned()]);
    assert!(r.get::<_, bool>(2));
    // x/y in 25832 inside the first square: gets its AGS.
    let s = tmp_file(
        "xy.csv",
        "site_id;operator;x;y;status;technologies;planned_date;on_air_date\nS-3;telefonica;350500;5640500;on_air;lte|5g;2020-01-01;2021-02-03\n",
    );
    let o = funkplan_ingest::Options { crs: Some(funkplan_ingest::Crs::UTM32), ..opts() };
    ingest(&mut c, Kind::Sites, &s, &o).await.unwrap();
    let r = c.query_one("SELECT ags::text, technologies, ST_X(geom) FROM site WHERE site_id = 'S-3'", &[]).await.unwrap();
    assert_eq!(r.get::<_, Option<String>>(0).as_deref(), Some("05111000"));
    assert_eq!(r.get::<_, Vec<String>>(1), vec!["5g".to_owned(), "lte".to_owned()]);
    assert_eq!(r.get::<_, f64>(2), 350_500.0);
    let again = ingest(&mut c, Kind::Sites, &s, &o).await.unwrap();
    assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 1));
    let v: i64 = c.query_one("SELECT version FROM site WHERE site_id = 'S-3'", &[]).await.unwrap().get(0);
    assert_eq!(v, 1);
    // A real change bumps the version.
    let s2 = tmp_file("xy2.csv", "site_id,operator,x,y,status,technologies\nS-3,telefonica,350600,5640500,on_air,5g;lte\n");
    let up = ingest(&mut c, Kind::Sites, &s2, &o).await.unwrap();
    assert_eq!(up.updated, 1);
    let v: i64 = c.query_one("SELECT version FROM site WHERE site_id = 'S-3'", &[]).await.unwrap().get(0);
    assert_eq!(v, 2);
    // GeoJSON points.
    let gj = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"site_id":"S-4","operator":"1und1","status":"construction","technologies":[]},"geometry":{"type":"Point","coordinates":[6.9,50.93]}}]}"#;
    let s = ingest(&mut c, Kind::Sites, &tmp_file("s.geojson", gj), &opts()).await.unwrap();
    assert_eq!(s.inserted, 1);
}

#[tokio::test]
async fn bad_sites_are_all_reported() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    base(&mut c).await;
    let body = "site_id,operator,lon,lat,status,technologies,planned_date,on_air_date\n\
                A-1,o2,6.9,50.9,on_air,lte,,\n\
                A-2,telekom,6.9,50.9,onair,lte,,\n\
                A-3,telekom,6.9,50.9,on_air,umts,,\n\
                A-4,telekom,6.9,50.9,on_air,lte,,2030-01-01\n\
                A-5,telekom,6.9,95.0,on_air,lte,,\n\
                A-6,telekom,abc,50.9,on_air,lte,,\n\
                A-1,telekom,6.9,50.9,on_air,lte,,\n\
                A 8,telekom,6.9,50.9,on_air,lte,,\n\
                A-9,telekom,6.9,50.9,planned,lte,,\n\
                A-10,telekom,6.9,50.9,on_air,lte,2020-13-01,\n\
                S-1,telekom,6.87,50.92,planned,,,\n";
    let lines = must_fail(&mut c, Kind::Sites, &tmp_file("bad-sites.csv", body), &opts()).await;
    has(&lines, &["bad-sites.csv", "line 2", "operator", "o2", "unknown operator"]);
    has(&lines, &["line 3", "status", "onair", "site status"]);
    has(&lines, &["line 4", "technologies", "umts", "technology"]);
    has(&lines, &["line 5", "on_air_date", "2030-01-01", "future"]);
    has(&lines, &["line 6", "lat", "outside the valid area of EPSG:4326"]);
    has(&lines, &["line 7", "lon", "abc", "not a number"]);
    has(&lines, &["line 8", "site_id", "A-1", "duplicate site_id: also at line 2"]);
    has(&lines, &["line 9", "site_id", "A 8"]);
    has(&lines, &["line 10", "technologies", "planned site has no technology"]);
    has(&lines, &["line 11", "planned_date", "2020-13-01", "YYYY-MM-DD"]);

    // Status going back against the database is refused (checked once rows are fine).
    let lines = must_fail(&mut c, Kind::Sites, &tmp_file("back.csv", "site_id,operator,lon,lat,status\nS-1,telekom,6.87,50.92,planned\n"), &opts()).await;
    has(&lines, &["back.csv", "line 2", "status", "S-1 is on_air in the database and cannot go back to planned"]);

    let lines = must_fail(&mut c, Kind::Sites, &tmp_file("cols.csv", "site_id,operator,x,y,status,colour\nS-9,telekom,1,2,planned,red\n"), &opts()).await;
    has(&lines, &["cols.csv", "line 1", "colour", "unknown column"]);
    has(&lines, &["line 1", "x", "need --crs"]);
}

#[tokio::test]
async fn measures_validate_and_complete_their_sites() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    base(&mut c).await;
    let body = "measure_id,site_id,kind,status,planned_date,completed_date,synthetic\n\
                M-1,S-1,5g_upgrade,completed,2023-01-01,2024-03-01,true\n\
                M-2,S-2,lte_new_site,completed,2024-01-01,2024-06-01,true\n\
                M-3,S-1,lte_upgrade,planned,2027-01-01,,true\n";
    let s = ingest(&mut c, Kind::Measures, &tmp_file("m.csv", body), &opts()).await.unwrap();
    assert_eq!(s.inserted, 3);
    // Triggers: 5G on air at S-1, S-2 on air with LTE since the completion date.
    let r = c.query_one("SELECT technologies FROM site WHERE site_id = 'S-1'", &[]).await.unwrap();
    assert_eq!(r.get::<_, Vec<String>>(0), vec!["5g".to_owned(), "lte".to_owned()]);
    let r = c.query_one("SELECT status, technologies, on_air_date::text FROM site WHERE site_id = 'S-2'", &[]).await.unwrap();
    assert_eq!(r.get::<_, String>(0), "on_air");
    assert_eq!(r.get::<_, Option<String>>(2).as_deref(), Some("2024-06-01"));
    let again = ingest(&mut c, Kind::Measures, &tmp_file("m.csv", body), &opts()).await.unwrap();
    assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 3));
    let v: i64 = c.query_one("SELECT max(version) FROM measure", &[]).await.unwrap().get(0);
    assert_eq!(v, 1);

    let bad = "measure_id,site_id,kind,status,planned_date,completed_date\n\
               X-1,S-404,5g_upgrade,planned,2026-01-01,\n";
    let lines = must_fail(&mut c, Kind::Measures, &tmp_file("nosite.csv", bad), &opts()).await;
    has(&lines, &["nosite.csv", "line 2", "site_id", "S-404", "no such site"]);

    let bad = "measure_id,site_id,kind,status,planned_date,completed_date\n\
               X-1,S-1,5g_upgrade,completed,2024-01-01,\n\
               X-2,S-1,5g_upgrade,completed,2024-01-01,2023-01-01\n\
               X-3,S-1,5g_upgrade,completed,2024-01-01,2027-01-01\n\
               X-4,S-1,6g_upgrade,planned,2024-01-01,\n\
               X-5,S-1,5g_upgrade,done,2024-01-01,\n\
               X-6,S-1,5g_upgrade,planned,2024-01-01,2024-02-01\n\
               X-6,S-1,5g_upgrade,planned,2024-01-01,\n\
               M-1,S-1,5g_upgrade,planned,2024-01-01,\n";
    let lines = must_fail(&mut c, Kind::Measures, &tmp_file("bad-m.csv", bad), &opts()).await;
    has(&lines, &["bad-m.csv", "line 2", "completed_date", "needs its completed_date"]);
    // Line 3 finished ahead of plan: no problem (see funkplan_model::DateField).
    assert!(!lines.iter().any(|l| l.contains("line 3")), "{lines:?}");
    has(&lines, &["line 4", "completed_date", "2027-01-01", "future"]);
    has(&lines, &["line 5", "kind", "6g_upgrade", "measure kind"]);
    has(&lines, &["line 6", "status", "done", "measure status"]);
    has(&lines, &["line 7", "completed_date", "planned measure has no completed_date"]);
    has(&lines, &["line 8", "measure_id", "X-6", "duplicate measure_id"]);
    // M-1 on line 9 is only checked against the database once the rest is valid.
    let lines = must_fail(&mut c, Kind::Measures, &tmp_file("back.csv", "measure_id,site_id,kind,status,planned_date,completed_date\nM-1,S-1,5g_upgrade,planned,2024-01-01,\n"), &opts()).await;
    has(&lines, &["back.csv", "line 2", "status", "M-1 is completed in the database and cannot go back to planned"]);
    let lines = must_fail(&mut c, Kind::Measures, &tmp_file("nocol.csv", "measure_id,site_id,kind,status\nX,S-1,5g_upgrade,planned\n"), &opts()).await;
    has(&lines, &["nocol.csv", "line 1", "planned_date", "missing column"]);
}

#[tokio::test]
async fn impossible_dates_fail_the_ingest_naming_file_line_field_and_value() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    base(&mut c).await;
    // opts() says today is 2026-11-23.
    let body = "site_id,operator,lon,lat,status,technologies,planned_date,on_air_date\n\
                D-1,telekom,6.9,50.9,planned,,-5000-01-01,\n\
                D-2,telekom,6.9,50.9,planned,,0000-01-01,\n\
                D-3,telekom,6.9,50.9,on_air,lte,,1900-01-01\n\
                D-4,telekom,6.9,50.9,planned,,2036-11-24,\n\
                D-5,telekom,6.9,50.9,construction,,,2024-01-01\n\
                D-6,telekom,6.9,50.9,on_air,lte,1990-01-01,1990-01-01\n\
                ..,telekom,6.9,50.9,planned,,,\n";
    let lines = must_fail(&mut c, Kind::Sites, &tmp_file("dates-sites.csv", body), &opts()).await;
    has(&lines, &["dates-sites.csv", "line 2", "planned_date", "-5000-01-01", "1990-01-01 … 2036-11-23"]);
    has(&lines, &["line 3", "planned_date", "0000-01-01", "outside the plausible window"]);
    has(&lines, &["line 4", "on_air_date", "1900-01-01", "1990-01-01 … 2026-11-23"]);
    has(&lines, &["line 5", "planned_date", "2036-11-24", "10 years ahead"]);
    has(&lines, &["line 6", "on_air_date", "2024-01-01", "a construction site is not on air yet"]);
    has(&lines, &["line 8", "site_id", "..", "not \".\" or \"..\""]);
    assert!(!lines.iter().any(|l| l.contains("line 7")), "the windows' first days are fine: {lines:?}");

    let body = "measure_id,site_id,kind,status,planned_date,completed_date\n\
                E-1,S-1,lte_upgrade,completed,,1900-01-01\n\
                E-2,S-1,lte_upgrade,completed,,2018-12-31\n\
                E-3,S-1,lte_upgrade,completed,,-4000-01-01\n\
                E-4,S-1,lte_upgrade,planned,0000-01-01,\n\
                E-5,S-1,lte_upgrade,completed,2030-01-01,2019-01-01\n\
                .,S-1,lte_upgrade,planned,,\n";
    let lines = must_fail(&mut c, Kind::Measures, &tmp_file("dates-measures.csv", body), &opts()).await;
    has(&lines, &["dates-measures.csv", "line 2", "completed_date", "1900-01-01", "2019-01-01 … 2026-11-23"]);
    has(&lines, &["line 3", "completed_date", "2018-12-31", "mobile strategy's data start on 2019-01-01"]);
    has(&lines, &["line 4", "completed_date", "-4000-01-01", "outside the plausible window"]);
    has(&lines, &["line 5", "planned_date", "0000-01-01", "outside the plausible window"]);
    has(&lines, &["line 7", "measure_id", "\".\""]);
    assert!(!lines.iter().any(|l| l.contains("line 6")), "ahead of plan and on the first day is fine: {lines:?}");
}

#[tokio::test]
async fn sites_far_from_the_municipalities_fail_the_ingest() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    // No municipalities yet: nothing to measure against, Munich gets in (no
    // AGS). (Rome no longer would: the CRS check refuses points far outside
    // Germany, municipalities or not.)
    let munich = tmp_file("munich.csv", "site_id,operator,lon,lat,status\nR-1,telekom,11.5820,48.1351,planned\n");
    ingest(&mut c, Kind::Sites, &munich, &opts()).await.unwrap();
    base(&mut c).await;
    // The test squares lie at about 6.87 E 50.89 N.
    let body = "site_id,operator,lon,lat,status\n\
                F-1,telekom,6.6,50.9,planned\n\
                F-2,telekom,11.5820,48.1351,planned\n\
                F-3,telekom,6.3,50.9,planned\n";
    let lines = must_fail(&mut c, Kind::Sites, &tmp_file("far.csv", body), &opts()).await;
    has(&lines, &["far.csv", "line 3", "position", "lon 11.58200, lat 48.13510", "km from the nearest loaded municipality", "within 20.0 km"]);
    has(&lines, &["line 4", "position", "lon 6.30000"]);
    assert!(!lines.iter().any(|l| l.contains("line 2")), "about 18 km away is within the margin: {lines:?}");
    // Re-ingesting Munich now fails too; a wider margin lets F-3 (about 40 km) in.
    let lines = must_fail(&mut c, Kind::Sites, &munich, &opts()).await;
    has(&lines, &["munich.csv", "line 2", "position"]);
    let wide = funkplan_ingest::Options { site_margin_m: Some(45_000.0), ..opts() };
    let f3 = tmp_file("f3.csv", "site_id,operator,lon,lat,status\nF-3,telekom,6.3,50.9,planned\n");
    assert_eq!(ingest(&mut c, Kind::Sites, &f3, &wide).await.unwrap().inserted, 1);
}
