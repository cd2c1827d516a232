//! Read endpoints of /api/v1 and the HTTP hygiene around them, over the
//! router on a real database.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::App;
use serde_json::json;

#[tokio::test]
async fn municipality_figures_have_the_design_shape() {
    let app = App::new().await;
    app.fixture().await;
    let r = app.get("/api/v1/municipalities/05111000").await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.bytes));
    assert_eq!(r.header("content-type").as_deref(), Some("application/json"));
    let j = r.json();
    assert_eq!(j["ags"], "05111000");
    assert_eq!(j["name"], "Düsseldorf");
    assert_eq!(j["households"], 1000.0);
    assert_eq!(j["area_km2"], 100.0);
    let g5 = &j["coverage"]["5g"];
    assert_eq!(g5["households_covered"], 800.0);
    assert_eq!(g5["household_share"], 0.8);
    assert_eq!(g5["area_share"], 0.7);
    assert_eq!(g5["operators"]["telekom"]["household_share"], 0.75);
    assert_eq!(g5["operators"]["telekom"]["area_share"], 0.6);
    assert_eq!(g5["operators"]["vodafone"]["household_share"], 0.5);
    assert!(g5.get("dead_spot_area_km2").is_none());
    let lte = &j["coverage"]["lte"];
    assert_eq!(lte["household_share"], 0.99);
    assert_eq!(lte["area_share"], 0.99);
    assert_eq!(lte["dead_spot_area_km2"], 0.4);
    assert_eq!(lte["grey_spot_area_km2"], 2.1);
    assert!(lte.get("operators").is_none(), "no operator rows for LTE: {lte}");
    assert_eq!(j["scenario"]["5g"]["household_share"], 0.95);
    assert_eq!(j["scenario"]["lte"]["area_share"], 1.0);
    assert_eq!(j["sites"], json!({"on_air": 1, "planned": 1}));
    assert_eq!(j["measures"], json!({"5g_upgrade": {"planned": 1}, "lte_upgrade": {"completed": 1}}));
    assert_eq!(j["source"], "reported");
    assert_eq!(j["computed_at"], "2026-11-23T10:00:00Z");

    // Counts only (no operator rows anywhere) and no scenario.
    let j = app.get("/api/v1/municipalities/05112000").await.json();
    assert!(j["coverage"]["5g"].get("operators").is_none());
    assert_eq!(j["scenario"], serde_json::Value::Null);
    assert_eq!(j["coverage"]["5g"]["household_share"], 0.2);
    assert_eq!(j["sites"], json!({"construction": 1}));

    // Not computed yet: empty coverage, households from the file.
    let j = app.get("/api/v1/municipalities/05315000").await.json();
    assert_eq!(j["coverage"], json!({}));
    assert_eq!(j["households"], 550000.0);
    assert_eq!(j["source"], serde_json::Value::Null);
}

#[tokio::test]
async fn unknown_and_malformed_ags_are_problems() {
    let app = App::new().await;
    app.fixture().await;
    let d = app.get("/api/v1/municipalities/05999999").await.problem(StatusCode::NOT_FOUND);
    assert!(d.contains("05999999"), "{d}");
    let d = app.get("/api/v1/municipalities/5111").await.problem(StatusCode::BAD_REQUEST);
    assert!(d.contains("8-digit"), "{d}");
    app.get("/api/v1/municipalities/05999999/dead-spots").await.problem(StatusCode::NOT_FOUND);
    app.get("/api/v1/municipalities/xx/dead-spots").await.problem(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn dead_spots_are_geojson_in_wgs84() {
    let app = App::new().await;
    app.fixture().await;
    let r = app.get("/api/v1/municipalities/05111000/dead-spots").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type").as_deref(), Some("application/geo+json"));
    let j = r.json();
    assert_eq!(j["type"], "FeatureCollection");
    let f = j["features"].as_array().unwrap();
    assert_eq!(f.len(), 2);
    assert_eq!(f[0]["id"], "05111000-1");
    assert_eq!(f[0]["properties"]["cells"], 4);
    let ring = &f[0]["geometry"]["coordinates"][0][0];
    let lon = ring[0][0].as_f64().unwrap();
    let lat = ring[0][1].as_f64().unwrap();
    assert!((6.7..6.8).contains(&lon) && (51.1..51.3).contains(&lat), "{lon} {lat}");
    // No dead spots: an empty collection, not 404.
    let j = app.get("/api/v1/municipalities/05315000/dead-spots").await.json();
    assert_eq!(j["features"], json!([]));
}

#[tokio::test]
async fn search_by_name_and_ags_prefix() {
    let app = App::new().await;
    app.fixture().await;
    let j = app.get("/api/v1/municipalities?q=d%C3%BCss").await.json();
    assert_eq!(j, json!([{"ags": "05111000", "name": "Düsseldorf", "district": "05111"}]));
    let j = app.get("/api/v1/municipalities?q=DU").await.json();
    let names: Vec<&str> = j.as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    // Prefix match first, then substring.
    assert_eq!(names, vec!["Duisburg"]);
    let j = app.get("/api/v1/municipalities?q=s").await.json();
    let names: Vec<&str> = j.as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    // No name starts with "s": substring matches, by name.
    assert_eq!(names, vec!["Duisburg", "Düsseldorf"]);
    let j = app.get("/api/v1/municipalities?q=0531").await.json();
    assert_eq!(j[0]["ags"], "05315000");
    let j = app.get("/api/v1/municipalities?q=%25").await.json();
    assert_eq!(j, json!([]), "LIKE wildcards are literal");
    let j = app.get("/api/v1/municipalities").await.json();
    assert_eq!(j.as_array().unwrap().len(), 3);
    app.get("/api/v1/municipalities?x=1").await.problem(StatusCode::BAD_REQUEST);
    app.get("/api/v1/municipalities?limit=abc").await.problem(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn etag_gives_304_and_changes_with_the_data() {
    let app = App::new().await;
    app.fixture().await;
    for uri in ["/api/v1/targets", "/api/v1/municipalities/05111000", "/ogc/collections/sites/items", "/healthz", "/ogc"] {
        let r = app.get(uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        let etag = r.header("etag").unwrap_or_else(|| panic!("no ETag on {uri}"));
        assert!(r.header("cache-control").is_some(), "{uri}");
        let r2 = app.get_with(uri, &[("if-none-match", &etag)]).await;
        assert_eq!(r2.status, StatusCode::NOT_MODIFIED, "{uri}");
        assert!(r2.bytes.is_empty());
        assert_eq!(r2.header("etag").as_deref(), Some(etag.as_str()));
    }
    let before = app.get("/api/v1/municipalities/05111000").await.header("etag").unwrap();
    app.sql("UPDATE coverage_result SET households_covered = 900 WHERE ags = '05111000' AND technology = '5g' AND NOT scenario").await;
    let r = app.get_with("/api/v1/municipalities/05111000", &[("if-none-match", &before)]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_ne!(r.header("etag").unwrap(), before);
    assert_eq!(r.json()["coverage"]["5g"]["household_share"], 0.9);
}

#[tokio::test]
async fn cache_follows_changes_made_by_other_connections() {
    // No explicit invalidation: the database's change notification must
    // reach the cache on its own.
    let app = App::new().await;
    app.fixture().await;
    // Let the listener connect.
    for _ in 0..50 {
        if app.get("/api/v1/municipalities/05111000").await.status == StatusCode::OK {
            break;
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let first = app.get("/api/v1/municipalities/05111000").await.json();
    assert_eq!(first["sites"]["planned"], 1);
    let c = app.db.client().await;
    c.batch_execute("UPDATE site SET status = 'permitting' WHERE site_id = 'S-2'").await.unwrap();
    let mut seen = None;
    for _ in 0..40 {
        let j = app.get("/api/v1/municipalities/05111000").await.json();
        if j["sites"].get("permitting").is_some() {
            seen = Some(j);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let j = seen.expect("change not visible within 2 s");
    assert_eq!(j["sites"], json!({"on_air": 1, "permitting": 1}));
}

#[tokio::test]
async fn compression_is_negotiated() {
    let app = App::new().await;
    app.fixture().await;
    let plain = app.get("/ogc/collections/municipalities/items?geometry=full").await;
    assert!(plain.header("content-encoding").is_none());
    for enc in ["gzip", "br"] {
        let r = app.get_with("/ogc/collections/municipalities/items?geometry=full", &[("accept-encoding", enc)]).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.header("content-encoding").as_deref(), Some(enc));
        assert!(r.bytes.len() < plain.bytes.len());
        assert_eq!(r.header("vary").as_deref(), Some("accept-encoding"));
    }
    // Small API answers go through the generic compression layer too.
    let r = app.get_with("/api/v1/targets", &[("accept-encoding", "gzip")]).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn targets_list_and_hygiene_headers() {
    let app = App::new().await;
    app.fixture().await;
    let r = app.get_with("/api/v1/targets", &[("origin", "https://example.org")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("access-control-allow-origin").as_deref(), Some("*"));
    assert!(r.header("x-request-id").is_some_and(|v| !v.is_empty()));
    let j = r.json();
    let upgrades = j.as_array().unwrap().iter().find(|t| t["id"] == "5g-upgrades").unwrap();
    assert_eq!(upgrades["current_value"], 1.0, "M-3 is a completed 5g_upgrade");
    let own = app.get_with("/healthz", &[("x-request-id", "abc-123")]).await;
    assert_eq!(own.header("x-request-id").as_deref(), Some("abc-123"));
}

#[tokio::test]
async fn unknown_paths_and_methods_are_problems() {
    let app = App::new().await;
    app.get("/api/v1/nothing").await.problem(StatusCode::NOT_FOUND);
    app.get("/ogc/nothing").await.problem(StatusCode::NOT_FOUND);
    let r = app
        .send(axum::http::Request::delete("/api/v1/targets").body(axum::body::Body::empty()).unwrap())
        .await;
    let d = r.problem(StatusCode::METHOD_NOT_ALLOWED);
    assert!(d.contains("DELETE"), "{d}");
    assert_eq!(r.header("allow").as_deref(), Some("GET,HEAD"));
}

#[tokio::test]
async fn web_app_missing_gives_a_german_notice_and_built_app_is_served() {
    let app = App::new().await;
    let r = app.get("/").await;
    assert_eq!(r.status, StatusCode::OK);
    let body = String::from_utf8_lossy(&r.bytes).to_string();
    assert!(body.contains("Die Web-Anwendung ist noch nicht gebaut"), "{body}");

    let dir = std::env::temp_dir().join(format!("funkplan-web-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>Karte</title>").unwrap();
    std::fs::write(dir.join("assets/app.js"), "console.log(1)").unwrap();
    let router = funkplan_api::router(app.state.clone().with_web_dir(&dir));
    let app2 = common::App { db: funkplan_db::testing::TestDb::new().await, state: app.state.clone(), router };
    let r = app2.get("/").await;
    assert!(String::from_utf8_lossy(&r.bytes).contains("Karte"));
    let r = app2.get("/gemeinde/05111000").await;
    assert_eq!(r.status, StatusCode::OK, "client routes get index.html");
    assert!(String::from_utf8_lossy(&r.bytes).contains("Karte"));
    let r = app2.get("/assets/app.js").await;
    assert_eq!(String::from_utf8_lossy(&r.bytes), "console.log(1)");
    assert!(r.header("cache-control").unwrap().contains("immutable"));
    app2.get("/api/v1/none").await.problem(StatusCode::NOT_FOUND);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn metrics_count_requests_by_route() {
    let app = App::new().await;
    app.fixture().await;
    app.get("/api/v1/municipalities/05111000").await;
    app.get("/api/v1/municipalities/05112000").await;
    app.get("/api/v1/municipalities/0511").await;
    app.sql("INSERT INTO coverage_run (source, scenario, load_ms, compute_ms, write_ms) VALUES ('modelled', false, 100, 50, 250)").await;
    let r = app.get("/metrics").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let text = String::from_utf8_lossy(&r.bytes).to_string();
    assert!(text.contains(r#"funkplan_http_requests_total{method="GET",route="/api/v1/municipalities/{ags}",status="200"} 2"#), "{text}");
    assert!(text.contains(r#"funkplan_http_requests_total{method="GET",route="/api/v1/municipalities/{ags}",status="400"} 1"#), "{text}");
    assert!(text.contains(r#"funkplan_http_request_duration_seconds_count{route="/api/v1/municipalities/{ags}"} 3"#), "{text}");
    assert!(text.contains("funkplan_db_pool_size "), "{text}");
    assert!(text.contains("funkplan_db_pool_available "), "{text}");
    assert!(text.contains(r#"funkplan_recompute_duration_seconds{incremental="false"} 0.4"#), "{text}");
}

#[tokio::test]
async fn pool_exhaustion_is_503_with_retry_after() {
    let t = funkplan_db::testing::TestDb::new().await;
    let db = funkplan_db::Db::connect(
        &t.url,
        &funkplan_db::PoolOptions { max_size: 1, wait_timeout: std::time::Duration::from_millis(100), ..Default::default() },
    )
    .await
    .unwrap();
    let held = db.conn().await.unwrap();
    let app = funkplan_api::router(funkplan_api::AppState::new(db.clone()));
    let resp = tower::ServiceExt::oneshot(app, axum::http::Request::get("/api/v1/municipalities/05111000").body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp.headers().get("retry-after").is_some());
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    drop(held);
}

#[tokio::test]
async fn target_history_is_the_stored_monthly_series() {
    let app = App::new().await;
    app.sql(
        "INSERT INTO target_history (target_id, month, value) VALUES
           ('5g-upgrades', '2024-01-01', 10), ('5g-upgrades', '2024-02-01', 25), ('lte-measures', '2024-01-01', 3)",
    )
    .await;
    let r = app.get("/api/v1/targets/5g-upgrades/history").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!([{"month": "2024-01-01", "value": 10.0}, {"month": "2024-02-01", "value": 25.0}]));
    let j = app.get("/api/v1/targets/5g-area/history").await.json();
    assert_eq!(j, json!([]));
    let d = app.get("/api/v1/targets/no-such/history").await.problem(StatusCode::NOT_FOUND);
    assert!(d.contains("no-such"), "{d}");
}

#[tokio::test]
async fn neighbours_share_a_border_not_a_corner() {
    let app = App::new().await;
    app.fixture().await;
    // Düsseldorf of the fixture is the 10 km square 340000..350000 ×
    // 5670000..5680000: one square shares its east edge, one only its
    // north-east corner, one half of its north edge.
    app.sql(
        "INSERT INTO municipality (ags, name, kind, population, households, geom) VALUES
          ('05111901', 'Ost', 'Gemeinde', 1, 1, ST_Multi(ST_MakeEnvelope(350000, 5670000, 355000, 5680000, 25832))),
          ('05111902', 'Ecke', 'Gemeinde', 1, 1, ST_Multi(ST_MakeEnvelope(350000, 5680000, 351000, 5681000, 25832))),
          ('05111903', 'Nord', 'Gemeinde', 1, 1, ST_Multi(ST_MakeEnvelope(340000, 5680000, 345000, 5690000, 25832)))",
    )
    .await;
    let v = app.get("/api/v1/municipalities/05111000/neighbours").await.json();
    assert_eq!(
        v,
        json!({"ags": "05111000", "neighbours": [
            {"ags": "05111901", "name": "Ost", "border_km": 10.0},
            {"ags": "05111903", "name": "Nord", "border_km": 5.0},
        ]})
    );
    // The corner square borders Ost (1 km of Ost's north edge), and
    // Düsseldorf only by a corner: not a neighbour.
    let e = app.get("/api/v1/municipalities/05111902/neighbours").await.json();
    assert_eq!(e["neighbours"], json!([{"ags": "05111901", "name": "Ost", "border_km": 1.0}]));
    assert!(app.get("/api/v1/municipalities/05999999/neighbours").await.problem(StatusCode::NOT_FOUND).contains("05999999"));
    assert!(app.get("/api/v1/municipalities/0511/neighbours").await.problem(StatusCode::BAD_REQUEST).contains("AGS"));
}
