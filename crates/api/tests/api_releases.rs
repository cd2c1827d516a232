//! Coverage releases over HTTP (issue 16): the list, and what changed in a
//! municipality between two releases — figures and GeoJSON — on a real
//! database with versions written as the ingest writes them.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::App;

/// Düsseldorf's first grid row of 5 cells (n = 56700, e = 3400..3404),
/// 10 households each. Release 2023-01-01: LTE on cells 0..3, 5G on 0..1.
/// Release 2023-04-01: LTE on 0..4 (cell 4 gained), 5G on 1..2 (cell 0
/// lost, cell 2 gained). Cell 3's LTE row is unchanged and spans both.
const RELEASES: &str = r"
INSERT INTO grid_cell (n, e, ags) SELECT 56700, e, '05111000' FROM generate_series(3400, 3404) e;
INSERT INTO household_cell (n, e, households) SELECT 56700, e, 10 FROM generate_series(3400, 3404) e;
INSERT INTO coverage_release (as_of, cells, checksum, source_file, source_sha256) VALUES
 ('2023-01-01', 4, 'a', '202301_MobilfunkMonitoring.csv', repeat('a', 64)),
 ('2023-04-01', 5, 'b', '202304_MobilfunkMonitoring.csv', repeat('b', 64));
INSERT INTO reported_coverage_version (n, e, valid_from, valid_to, lte_count, nr_count) VALUES
 (56700, 3400, '2023-01-01', '2023-04-01', 1, 1),
 (56700, 3401, '2023-01-01', '2023-04-01', 2, 1),
 (56700, 3402, '2023-01-01', '2023-04-01', 1, 0),
 (56700, 3403, '2023-01-01', NULL, 1, 0),
 (56700, 3400, '2023-04-01', NULL, 1, 0),
 (56700, 3401, '2023-04-01', NULL, 2, 2),
 (56700, 3402, '2023-04-01', NULL, 1, 1),
 (56700, 3404, '2023-04-01', NULL, 3, 0);
";

#[tokio::test]
async fn releases_are_listed_oldest_first() {
    let app = App::new().await;
    let empty = app.get("/api/v1/releases").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.json(), serde_json::json!([]));
    app.fixture().await;
    app.sql(RELEASES).await;
    let v = app.get("/api/v1/releases").await.json();
    let dates: Vec<&str> = v.as_array().unwrap().iter().map(|r| r["as_of"].as_str().unwrap()).collect();
    assert_eq!(dates, ["2023-01-01", "2023-04-01"]);
    assert_eq!(v[1]["cells"], 5);
    assert_eq!(v[1]["source_file"], "202304_MobilfunkMonitoring.csv");
}

#[tokio::test]
async fn a_municipality_sees_what_changed_between_releases() {
    let app = App::new().await;
    app.fixture().await;
    // Before any release: nothing to compare.
    let none = app.get("/api/v1/municipalities/05111000/changes").await;
    assert!(none.problem(StatusCode::NOT_FOUND).contains("no coverage release"));
    app.sql(RELEASES).await;

    // Default: the latest release against the one before.
    let v = app.get("/api/v1/municipalities/05111000/changes").await.json();
    assert_eq!(v["from"], "2023-01-01");
    assert_eq!(v["to"], "2023-04-01");
    assert_eq!(v["cells"], 5);
    let lte = &v["technologies"]["lte"];
    assert_eq!((lte["cells_gained"].as_i64(), lte["cells_lost"].as_i64()), (Some(1), Some(0)));
    assert_eq!((lte["households_before"].as_f64(), lte["households_after"].as_f64()), (Some(40.0), Some(50.0)));
    assert_eq!(lte["area_gained_km2"].as_f64(), Some(0.01));
    let nr = &v["technologies"]["5g"];
    assert_eq!((nr["cells_gained"].as_i64(), nr["cells_lost"].as_i64()), (Some(1), Some(1)));
    assert_eq!((nr["households_gained"].as_f64(), nr["households_lost"].as_f64()), (Some(10.0), Some(10.0)));
    assert_eq!(v["dead_spot_area_km2"]["before"].as_f64(), Some(0.01));
    assert_eq!(v["dead_spot_area_km2"]["after"].as_f64(), Some(0.0));
    let feats = v["changed_areas"]["features"].as_array().unwrap();
    let kinds: Vec<(&str, &str)> =
        feats.iter().map(|f| (f["properties"]["technology"].as_str().unwrap(), f["properties"]["change"].as_str().unwrap())).collect();
    assert_eq!(kinds, [("5g", "gained"), ("5g", "lost"), ("lte", "gained")]);
    // The gained LTE cell: 100 m square at e 340400..340500, n 5670000..5670100, in WGS84.
    let ring = &feats[2]["geometry"]["coordinates"][0];
    let lons: Vec<f64> = ring.as_array().unwrap().iter().map(|p| p[0].as_f64().unwrap()).collect();
    assert!(lons.iter().all(|&x| (6.717..6.720).contains(&x)), "{lons:?}");

    // Dates pick the release in force; before the first there is none.
    let early = app.get("/api/v1/municipalities/05111000/changes?from=2022-06-30&to=2023-02-15").await.json();
    assert_eq!(early["from"], serde_json::Value::Null);
    assert_eq!(early["to"], "2023-01-01");
    assert_eq!(early["technologies"]["lte"]["cells_gained"], 4);
    assert_eq!(early["dead_spot_area_km2"]["before"].as_f64(), Some(0.05));
    // The same release on both sides: nothing changed.
    let same = app.get("/api/v1/municipalities/05111000/changes?from=2023-04-02&to=2023-12-31").await.json();
    assert_eq!(same["changed_areas"]["features"], serde_json::json!([]));
    assert_eq!(same["technologies"]["5g"]["cells_gained"], 0);

    // The changed areas alone for a map.
    let g = app.get("/api/v1/municipalities/05111000/changes?f=geojson").await;
    assert_eq!(g.header("content-type").as_deref(), Some("application/geo+json"));
    assert_eq!(g.json()["type"], "FeatureCollection");
    assert_eq!(g.json()["features"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn bad_change_requests_are_refused() {
    let app = App::new().await;
    app.fixture().await;
    app.sql(RELEASES).await;
    let cases = [
        ("/api/v1/municipalities/05111000/changes?from=2023-13-01", StatusCode::BAD_REQUEST, "not a date"),
        ("/api/v1/municipalities/05111000/changes?from=2024-01-01&to=2023-01-01", StatusCode::BAD_REQUEST, "lies after"),
        ("/api/v1/municipalities/05111000/changes?f=csv", StatusCode::BAD_REQUEST, "json, geojson"),
        ("/api/v1/municipalities/05111000/changes?since=2023-01-01", StatusCode::BAD_REQUEST, "since"),
        ("/api/v1/municipalities/0511100/changes", StatusCode::BAD_REQUEST, "AGS"),
        ("/api/v1/municipalities/05999000/changes", StatusCode::NOT_FOUND, "05999000"),
    ];
    for (uri, status, words) in cases {
        let d = app.get(uri).await.problem(status);
        assert!(d.contains(words), "{uri}: {d}");
    }
}

/// An engine stand-in that answers a date with fixed counts, so the API's
/// side (checking the date, naming the figures) is tested on its own; the
/// engine's figures for a date are tested against the PostGIS reference in
/// funkplan-coverage.
struct DatedHook;

impl funkplan_api::CoverageHook for DatedHook {
    fn changed(&self, _: funkplan_model::Change) -> futures_util::future::BoxFuture<'static, Result<(), funkplan_api::HookError>> {
        Box::pin(async { Ok(()) })
    }

    fn figures_at(
        &self,
        ags: String,
        date: chrono::NaiveDate,
    ) -> futures_util::future::BoxFuture<'static, Result<Option<funkplan_api::DatedFigures>, funkplan_api::HookError>> {
        use funkplan_api::{DatedFigures, DatedTech};
        Box::pin(async move {
            if ags != "05111000" {
                return Ok(None);
            }
            let t = |hh_cov: f64, cov: u32, dead: u32| DatedTech {
                households: 1000.0,
                households_covered: hh_cov,
                cells: 100,
                cells_covered: cov,
                dead_cells: dead,
                grey_cells: 5,
            };
            Ok(Some(DatedFigures {
                date,
                release: chrono::NaiveDate::from_ymd_opt(2023, 1, 1),
                source: funkplan_model::CoverageSource::Union,
                lte: t(990.0, 96, 4),
                nr: t(600.0, 50, 50),
            }))
        })
    }

    fn coverage_at(
        &self,
        date: chrono::NaiveDate,
    ) -> futures_util::future::BoxFuture<'static, Result<funkplan_api::DatedAll, funkplan_api::HookError>> {
        use funkplan_api::{DatedAll, DatedTech};
        Box::pin(async move {
            let t = |hh_cov: f64, cov: u32| DatedTech {
                households: 1000.0,
                households_covered: hh_cov,
                cells: 100,
                cells_covered: cov,
                dead_cells: 100 - cov,
                grey_cells: 0,
            };
            Ok(DatedAll {
                date,
                release: None,
                source: funkplan_model::CoverageSource::Modelled,
                municipalities: vec![("05111000".into(), t(900.0, 90), t(250.0, 25)), ("05112000".into(), t(0.0, 0), t(0.0, 0))],
            })
        })
    }

    fn series(&self, ags: String) -> futures_util::future::BoxFuture<'static, Result<Option<funkplan_api::DatedSeries>, funkplan_api::HookError>> {
        use funkplan_api::{DatedSeries, DatedTech};
        Box::pin(async move {
            if ags != "05111000" {
                return Ok(None);
            }
            let t = |hh_cov: f64| DatedTech { households: 1000.0, households_covered: hh_cov, cells: 100, cells_covered: 50, dead_cells: 50, grey_cells: 0 };
            let d = |m| chrono::NaiveDate::from_ymd_opt(2023, m, 1).unwrap();
            Ok(Some(DatedSeries {
                source: funkplan_model::CoverageSource::Union,
                points: vec![(d(1), t(900.0), t(100.0)), (d(4), t(950.0), t(300.0))],
            }))
        })
    }
}

#[tokio::test]
async fn a_municipality_at_a_date_from_the_engine() {
    let app = App::with_hook(Some(std::sync::Arc::new(DatedHook))).await;
    app.fixture().await;
    let v = app.get("/api/v1/municipalities/05111000?as_of=2023-02-15").await.json();
    assert_eq!(v["as_of"], "2023-02-15");
    assert_eq!(v["release"], "2023-01-01");
    assert_eq!(v["source"], "union");
    assert_eq!(v["name"], "Düsseldorf");
    assert_eq!(v["coverage"]["5g"]["household_share"], 0.6);
    assert_eq!(v["coverage"]["5g"]["area_share"], 0.5);
    assert_eq!(v["coverage"]["lte"]["dead_spot_area_km2"], 0.04);
    // Without a date: today's stored figures, as before.
    assert_eq!(app.get("/api/v1/municipalities/05111000").await.json()["coverage"]["5g"]["household_share"], 0.8);
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Days::new(1)).to_string();
    for (uri, status, words) in [
        (format!("/api/v1/municipalities/05111000?as_of={tomorrow}"), StatusCode::BAD_REQUEST, "today"),
        ("/api/v1/municipalities/05111000?as_of=2018-12-31".into(), StatusCode::BAD_REQUEST, "2019-01-01"),
        ("/api/v1/municipalities/05111000?as_of=15.02.2023".into(), StatusCode::BAD_REQUEST, "YYYY-MM-DD"),
        ("/api/v1/municipalities/05111000?asof=2023-02-15".into(), StatusCode::BAD_REQUEST, "asof"),
        ("/api/v1/municipalities/05999000?as_of=2023-02-15".into(), StatusCode::NOT_FOUND, "05999000"),
        ("/api/v1/municipalities/05112000?as_of=2023-02-15".into(), StatusCode::NOT_FOUND, "no grid cells"),
    ] {
        let d = app.get(&uri).await.problem(status);
        assert!(d.contains(words), "{uri}: {d}");
    }
}

#[tokio::test]
async fn a_date_without_the_engine_is_unavailable() {
    let app = App::new().await;
    app.fixture().await;
    let d = app.get("/api/v1/municipalities/05111000?as_of=2023-02-15").await.problem(StatusCode::SERVICE_UNAVAILABLE);
    assert!(d.contains("funkplan serve"), "{d}");
}

#[tokio::test]
async fn every_municipality_at_a_date_for_the_map() {
    let app = App::with_hook(Some(std::sync::Arc::new(DatedHook))).await;
    let v = app.get("/api/v1/coverage?as_of=2021-03-31").await.json();
    assert_eq!(v["as_of"], "2021-03-31");
    assert_eq!(v["release"], serde_json::Value::Null);
    assert_eq!(v["source"], "modelled");
    let m = v["municipalities"].as_array().unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(m[0]["ags"], "05111000");
    assert_eq!(m[0]["household_share_5g"], 0.25);
    assert_eq!(m[0]["household_share_lte"], 0.9);
    assert_eq!(m[0]["dead_spot_area_km2"], 0.1);
    assert!(app.get("/api/v1/coverage?as_of=2018-06-01").await.problem(StatusCode::BAD_REQUEST).contains("2019-01-01"));
    assert!(App::new().await.get("/api/v1/coverage").await.problem(StatusCode::SERVICE_UNAVAILABLE).contains("funkplan serve"));
}

#[tokio::test]
async fn an_area_at_a_date_adds_up_its_municipalities_counts() {
    let app = App::with_hook(Some(std::sync::Arc::new(DatedHook))).await;
    app.fixture().await;
    // Regierungsbezirk Düsseldorf holds both fixture municipalities; the
    // engine stand-in gives Düsseldorf 900 of 1000 households with LTE and
    // Duisburg none, so the region's share is 900 / 2000 — counts added,
    // divided once — and its dead area 110 cells.
    let v = app.get("/api/v1/regions/051?as_of=2021-03-31").await.json();
    assert_eq!(v["ags"], "051");
    assert_eq!(v["level"], "region");
    assert_eq!(v["as_of"], "2021-03-31");
    assert_eq!(v["source"], "modelled");
    assert_eq!(v["households"], 2000.0);
    assert_eq!(v["coverage"]["lte"]["household_share"], 0.45);
    assert_eq!(v["coverage"]["lte"]["area_share"], 0.45);
    assert_eq!(v["coverage"]["5g"]["household_share"], 0.125);
    assert!((v["coverage"]["lte"]["dead_spot_area_km2"].as_f64().unwrap() - 1.1).abs() < 1e-9, "{v}");
    let m = v["municipalities"].as_array().unwrap();
    assert_eq!(m.len(), 2, "{v}");
    assert_eq!(m[0]["name"], "Düsseldorf");
    assert_eq!(m[0]["coverage"]["lte"]["household_share"], 0.9);
    // A district of one municipality is that municipality.
    let d = app.get("/api/v1/districts/05112?as_of=2021-03-31").await.json();
    assert_eq!(d["name"], "Duisburg");
    assert_eq!(d["coverage"]["lte"]["household_share"], 0.0);
    // Today's answer stays the stored one.
    assert_eq!(app.get("/api/v1/regions/051").await.json()["ags"], "051");
    for (uri, status, words) in [
        ("/api/v1/regions/051?as_of=2018-12-31", StatusCode::BAD_REQUEST, "2019-01-01"),
        ("/api/v1/districts/05111?as_of=31.03.2021", StatusCode::BAD_REQUEST, "YYYY-MM-DD"),
        ("/api/v1/districts/05111?asof=2021-03-31", StatusCode::BAD_REQUEST, "asof"),
        ("/api/v1/districts/05999?as_of=2021-03-31", StatusCode::NOT_FOUND, "05999"),
    ] {
        let d = app.get(uri).await.problem(status);
        assert!(d.contains(words), "{uri}: {d}");
    }
    let d = App::new().await;
    d.fixture().await;
    assert!(d.get("/api/v1/regions/051?as_of=2021-03-31").await.problem(StatusCode::SERVICE_UNAVAILABLE).contains("funkplan serve"));
}

#[tokio::test]
async fn targets_as_they_stood_on_a_date() {
    let app = App::new().await;
    // Every target has a point in 2024-10; 5g-upgrades (more than 10,300
    // by 2024-12-31) climbs past its goal only after the deadline.
    app.sql(
        "INSERT INTO target_history (target_id, month, value)
           SELECT id, '2024-10-01', 0 FROM target WHERE id <> '5g-upgrades';
         INSERT INTO target_history (target_id, month, value) VALUES
           ('5g-upgrades', '2024-10-01', 9000), ('5g-upgrades', '2024-11-01', 9500),
           ('5g-upgrades', '2024-12-01', 10000), ('5g-upgrades', '2025-01-01', 10400),
           ('5g-upgrades', '2025-06-01', 11000)",
    )
    .await;
    let at = |list: &serde_json::Value| list.as_array().unwrap().iter().find(|t| t["id"] == "5g-upgrades").unwrap().clone();
    // Before the deadline: December's value, not met, deadline ahead, and
    // the later catch-up unknown then.
    let t = at(&app.get("/api/v1/targets?as_of=2024-12-15").await.json());
    assert_eq!(t["current_value"], 10000.0);
    assert_eq!(t["met"], false);
    assert_eq!(t["deadline_passed"], false);
    assert_eq!(t["met_on"], serde_json::Value::Null);
    assert_eq!(t["as_of"], "2024-12-31T23:59:59Z");
    assert_eq!(t["baseline"], 9000.0);
    // After it: January's value meets the goal, but not at the deadline.
    let t = at(&app.get("/api/v1/targets?as_of=2025-02-10").await.json());
    assert_eq!(t["current_value"], 10400.0);
    assert_eq!(t["met"], true);
    assert_eq!(t["deadline_passed"], true);
    assert_eq!(t["met_at_deadline"], false);
    assert_eq!(t["met_on"], "2025-01-01");
    assert_eq!(t["forecast"]["value_at_deadline"], 10000.0);
    // Nothing known before the history starts; bad dates refused.
    let d = app.get("/api/v1/targets?as_of=2024-09-30").await.problem(StatusCode::NOT_FOUND);
    assert!(d.contains("2024-09-30"), "{d}");
    assert!(app.get("/api/v1/targets?as_of=2024-13-01").await.problem(StatusCode::BAD_REQUEST).contains("YYYY-MM-DD"));
    assert!(app.get("/api/v1/targets?when=2024-12-01").await.problem(StatusCode::BAD_REQUEST).contains("when"));
}

#[tokio::test]
async fn a_municipality_over_the_releases() {
    let app = App::with_hook(Some(std::sync::Arc::new(DatedHook))).await;
    app.fixture().await;
    let v = app.get("/api/v1/municipalities/05111000/releases").await.json();
    assert_eq!(v["name"], "Düsseldorf");
    assert_eq!(v["source"], "union");
    let r = v["releases"].as_array().unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0]["date"], "2023-01-01");
    assert_eq!(r[1]["coverage"]["5g"]["household_share"], 0.3);
    assert_eq!(r[1]["coverage"]["lte"]["household_share"], 0.95);
    for (uri, status, words) in [
        ("/api/v1/municipalities/0511100/releases", StatusCode::BAD_REQUEST, "AGS"),
        ("/api/v1/municipalities/05111000/releases?as_of=2023-01-01", StatusCode::BAD_REQUEST, "as_of"),
        ("/api/v1/municipalities/05999000/releases", StatusCode::NOT_FOUND, "05999000"),
        ("/api/v1/municipalities/05112000/releases", StatusCode::NOT_FOUND, "no grid cells"),
    ] {
        let d = app.get(uri).await.problem(status);
        assert!(d.contains(words), "{uri}: {d}");
    }
}

/// OGC `datetime` on the coverage collections (issue 16) dates the
/// figures: every feature is served with the engine's figures at that date
/// (the stand-in's here; the real engine's equality with `?as_of=` is
/// tested end to end in `tests/tests/ogc_dated.rs`), where on the other
/// collections it still filters.
#[tokio::test]
async fn ogc_datetime_on_the_coverage_collections_dates_the_figures() {
    let app = App::with_hook(Some(std::sync::Arc::new(DatedHook))).await;
    app.fixture().await;
    app.sql(RELEASES).await;
    let page = app.get("/ogc/collections/municipalities/items?datetime=2021-03-31").await.json();
    assert_eq!(page["as_of"], "2021-03-31");
    assert_eq!(page["release"], serde_json::Value::Null);
    // Every municipality, not those "computed" at that date.
    assert_eq!(page["numberMatched"], 3);
    let props = |ags: &str| page["features"].as_array().unwrap().iter().find(|f| f["id"] == ags).unwrap()["properties"].clone();
    let d = props("05111000");
    assert_eq!(d["household_share_5g"], 0.25);
    assert_eq!(d["area_share_5g"], 0.25);
    assert_eq!(d["household_share_lte"], 0.9);
    assert_eq!(d["households_lte"], 900.0);
    assert_eq!(d["households"], 1000.0);
    assert_eq!(d["dead_spot_area_km2"], 0.1);
    assert_eq!(d["grey_spot_area_km2"], 0.0);
    assert_eq!(d["source"], "modelled");
    assert_eq!(d["household_share_5g_scenario"], serde_json::Value::Null, "a past date has no scenario");
    assert_eq!(d["computed_at"], serde_json::Value::Null);
    // Duisburg: none covered at that date. No grid cells (Köln): no figures.
    assert_eq!(props("05112000")["household_share_5g"], 0.0);
    assert_eq!(props("05315000")["household_share_lte"], serde_json::Value::Null);
    assert_eq!(props("05315000")["households"], 550000.0, "the municipality's own households");
    // An interval means its end; an instant its date as written.
    for dt in ["2020-01-01/2021-03-31", "../2021-03-31T23:30:00+01:00", "2021-03-31T00:00:00Z"] {
        let p = app.get(&format!("/ogc/collections/municipalities/items?datetime={}", enc(dt))).await.json();
        assert_eq!(p["as_of"], "2021-03-31", "{dt}");
    }
    // Filters and sorting address the figures at the date.
    let f = app.get(&format!("/ogc/collections/municipalities/items?datetime=2021-03-31&filter={}", enc("household_share_lte > 0.5"))).await.json();
    assert_eq!(f["numberMatched"], 1);
    let today = app.get(&format!("/ogc/collections/municipalities/items?filter={}", enc("household_share_lte > 0.5"))).await.json();
    assert_eq!(today["numberMatched"], 2, "today: Düsseldorf and Duisburg");
    // The areas add the counts up and divide once: the region holds both.
    let r = app.get("/ogc/collections/regions/items?datetime=2021-03-31&ags=051").await.json();
    let rp = &r["features"][0]["properties"];
    assert_eq!(rp["household_share_lte"], 0.45);
    assert_eq!(rp["household_share_5g"], 0.125);
    assert_eq!(rp["dead_spot_area_km2"], 1.1);
    assert_eq!(rp["source"], "modelled");
    let s = app.get("/ogc/collections/state/items?datetime=2021-03-31").await.json();
    assert_eq!(s["features"][0]["properties"]["household_share_lte"], 0.45);
    let k = app.get("/ogc/collections/districts/items?datetime=2021-03-31&ags=05112").await.json();
    assert_eq!(k["features"][0]["properties"]["household_share_lte"], 0.0);
    // Sites: datetime still filters by the on-air date.
    let sites = app.get("/ogc/collections/sites/items?datetime=2023-03-01").await.json();
    assert_eq!(sites["numberMatched"], 1);
    assert!(sites.get("as_of").is_none());
    // The temporal extent of a coverage collection: the release dates.
    let c = app.get("/ogc/collections/municipalities").await.json();
    assert_eq!(c["extent"]["temporal"]["interval"], serde_json::json!([["2023-01-01T00:00:00Z", "2023-04-01T00:00:00Z"]]));
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Days::new(1)).to_string();
    for (uri, words) in [
        ("/ogc/collections/municipalities/items?datetime=2018-12-31".to_owned(), "2019-01-01"),
        (format!("/ogc/collections/districts/items?datetime={tomorrow}"), "today"),
        ("/ogc/collections/regions/items?datetime=2100-01-01/..".to_owned(), "after"),
        ("/ogc/collections/municipalities/items?datetime=31.03.2021".to_owned(), "RFC 3339"),
    ] {
        let d = app.get(&uri).await.problem(StatusCode::BAD_REQUEST);
        assert!(d.contains("datetime") && d.contains(words), "{uri}: {d}");
    }
    // Without the engine: 503, as ?as_of=.
    let none = App::new().await;
    none.fixture().await;
    let d = none.get("/ogc/collections/municipalities/items?datetime=2021-03-31").await.problem(StatusCode::SERVICE_UNAVAILABLE);
    assert!(d.contains("funkplan serve"), "{d}");
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
