//! What a write may not store (issue 20, findings 3, 4, 5, 7): impossible
//! dates, positions outside the state, weak or wildcard If-Match, ids `.`
//! and `..`, and database text in 409/422 answers.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::{Method, StatusCode};
use common::App;
use serde_json::{json, Value};

/// The lowest role that may write in the fixture's Düsseldorf square
/// (S-1 on air, S-2 planned, M-1 planned on S-1).
const DUS: &str = "municipality:05111000";

fn tomorrow() -> String {
    (chrono::Utc::now().date_naive() + chrono::Days::new(1)).to_string()
}

fn new_site(id: &str, status: &str, extra: &Value) -> Value {
    let mut s = json!({"site_id": id, "operator": "telekom", "lon": 6.7668359, "lat": 51.2050714, "status": status, "technologies": []});
    for (k, v) in extra.as_object().unwrap() {
        s[k] = v.clone();
    }
    s
}

/// Every row of sites and measures, to show a refused write left nothing.
async fn snapshot(app: &App) -> String {
    let c = app.db.client().await;
    let sql = "SELECT coalesce(string_agg(t::text, '|' ORDER BY t::text), '') FROM \
               (SELECT site_id, version, planned_date, on_air_date FROM site UNION ALL \
                SELECT measure_id, version, planned_date, completed_date FROM measure) t";
    c.query_one(sql, &[]).await.unwrap().get(0)
}

async fn etag(app: &App, path: &str) -> String {
    app.get(path).await.header("etag").unwrap()
}

#[tokio::test]
async fn impossible_dates_are_422_naming_the_field_for_every_write() {
    let app = App::new().await;
    app.fixture().await;
    let t = app.token(DUS).await;
    let before = snapshot(&app).await;
    let too_old = ["-5000-01-01", "0000-01-01", "1900-01-01"];
    let check = |d: String, field: &str, value: &str| {
        assert!(d.contains(field) && d.contains(value), "detail should name {field} and {value}: {d}");
        assert!(!d.contains("out of range") && !d.contains("BC"), "{d}");
    };

    // Sites, POST: planned and on-air dates.
    for v in too_old.iter().copied().chain(["2099-01-01"]) {
        let b = new_site("N-1", "planned", &json!({"planned_date": v}));
        let r = app.write(Method::POST, "/api/v1/sites", Some(&t), None, &b).await;
        check(r.problem(StatusCode::UNPROCESSABLE_ENTITY), "planned_date", v.trim_start_matches('-'));
    }
    let tomorrow = tomorrow();
    for v in too_old.iter().copied().chain([tomorrow.as_str()]) {
        let b = new_site("N-1", "on_air", &json!({"on_air_date": v, "technologies": ["lte"]}));
        let r = app.write(Method::POST, "/api/v1/sites", Some(&t), None, &b).await;
        check(r.problem(StatusCode::UNPROCESSABLE_ENTITY), "on_air_date", v.trim_start_matches('-'));
    }
    // Sites, PATCH.
    for v in too_old.iter().copied().chain(["2099-01-01"]) {
        let r = app.write(Method::PATCH, "/api/v1/sites/S-1", Some(&t), Some(&etag(&app, "/api/v1/sites/S-1").await), &json!({"planned_date": v})).await;
        check(r.problem(StatusCode::UNPROCESSABLE_ENTITY), "planned_date", v.trim_start_matches('-'));
    }
    for v in too_old.iter().copied().chain([tomorrow.as_str()]) {
        let r = app.write(Method::PATCH, "/api/v1/sites/S-1", Some(&t), Some(&etag(&app, "/api/v1/sites/S-1").await), &json!({"on_air_date": v})).await;
        check(r.problem(StatusCode::UNPROCESSABLE_ENTITY), "on_air_date", v.trim_start_matches('-'));
    }
    // Measures, POST: planned and completed dates; completion from 2019 only.
    for v in too_old.iter().copied().chain(["2099-01-01"]) {
        let b = json!({"measure_id": "N-M", "site_id": "S-1", "kind": "lte_upgrade", "status": "planned", "planned_date": v});
        let r = app.write(Method::POST, "/api/v1/measures", Some(&t), None, &b).await;
        check(r.problem(StatusCode::UNPROCESSABLE_ENTITY), "planned_date", v.trim_start_matches('-'));
    }
    for v in too_old.iter().copied().chain(["2018-12-31", tomorrow.as_str()]) {
        let b = json!({"measure_id": "N-M", "site_id": "S-1", "kind": "lte_upgrade", "status": "completed", "completed_date": v});
        let r = app.write(Method::POST, "/api/v1/measures", Some(&t), None, &b).await;
        check(r.problem(StatusCode::UNPROCESSABLE_ENTITY), "completed_date", v.trim_start_matches('-'));
    }
    // Measures, PATCH: completing "in 1900" was what grew the history.
    for v in too_old.iter().copied().chain(["2018-12-31", tomorrow.as_str()]) {
        let patch = json!({"status": "completed", "completed_date": v});
        let r = app.write(Method::PATCH, "/api/v1/measures/M-1", Some(&t), Some(&etag(&app, "/api/v1/measures/M-1").await), &patch).await;
        check(r.problem(StatusCode::UNPROCESSABLE_ENTITY), "completed_date", v.trim_start_matches('-'));
    }
    for v in too_old {
        let r = app
            .write(Method::PATCH, "/api/v1/measures/M-1", Some(&t), Some(&etag(&app, "/api/v1/measures/M-1").await), &json!({"planned_date": v}))
            .await;
        check(r.problem(StatusCode::UNPROCESSABLE_ENTITY), "planned_date", v.trim_start_matches('-'));
    }
    assert_eq!(snapshot(&app).await, before, "a refused write changed something");

    // The windows' ends are fine, and so is finishing ahead of plan.
    let r = app
        .write(Method::POST, "/api/v1/sites", Some(&t), None, &new_site("N-2", "on_air", &json!({"planned_date": "1990-01-01", "on_air_date": "1990-01-01"})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.bytes));
    let patch = json!({"status": "completed", "planned_date": "2030-01-01", "completed_date": "2019-01-01"});
    let r = app.write(Method::PATCH, "/api/v1/measures/M-1", Some(&t), Some(&etag(&app, "/api/v1/measures/M-1").await), &patch).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.bytes));
}

#[tokio::test]
async fn on_air_date_needs_a_site_that_has_been_on_air() {
    let app = App::new().await;
    app.fixture().await;
    let t = app.token("staff").await;
    for status in ["planned", "permitting", "construction"] {
        let b = new_site("N-1", status, &json!({"on_air_date": "2024-01-01"}));
        let d = app.write(Method::POST, "/api/v1/sites", Some(&t), None, &b).await.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(d.contains("on_air_date") && d.contains(&format!("a {status} site is not on air yet")), "{d}");
    }
    // S-2 is planned: a date alone is refused; going on air with it is fine.
    let tag = etag(&app, "/api/v1/sites/S-2").await;
    let d = app
        .write(Method::PATCH, "/api/v1/sites/S-2", Some(&t), Some(&tag), &json!({"on_air_date": "2024-01-01"}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(d.contains("on_air_date"), "{d}");
    let r = app
        .write(Method::PATCH, "/api/v1/sites/S-2", Some(&t), Some(&tag), &json!({"status": "on_air", "on_air_date": "2024-01-01"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.bytes));
    // A decommissioned site keeps the date it went on air.
    let tag = etag(&app, "/api/v1/sites/S-2").await;
    let r = app.write(Method::PATCH, "/api/v1/sites/S-2", Some(&t), Some(&tag), &json!({"status": "decommissioned"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.bytes));
    assert_eq!(r.json()["on_air_date"], "2024-01-01");
}

/// lon/lat of a point given in EPSG:25832, by PostGIS.
async fn lonlat(app: &App, x: f64, y: f64) -> (f64, f64) {
    let c = app.db.client().await;
    let r = c
        .query_one("SELECT ST_X(p), ST_Y(p) FROM ST_Transform(ST_SetSRID(ST_MakePoint($1, $2), 25832), 4326) p", &[&x, &y])
        .await
        .unwrap();
    (r.get(0), r.get(1))
}

#[tokio::test]
async fn sites_must_lie_within_the_margin_of_the_municipalities() {
    let app = App::new().await;
    let staff = app.token("staff").await;
    let at = |id: &str, lon: f64, lat: f64| json!({"site_id": id, "operator": "telekom", "lon": lon, "lat": lat, "status": "planned"});
    let (rome, oslo) = ((12.4964, 41.9028), (10.7522, 59.9139));

    // Nothing loaded yet: no outline to measure against, only the coarse box.
    let r = app.write(Method::POST, "/api/v1/sites", Some(&staff), None, &at("EARLY", rome.0, rome.1)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.bytes));
    app.write(Method::POST, "/api/v1/sites", Some(&staff), None, &at("FAR", 30.0, 50.0)).await.problem(StatusCode::UNPROCESSABLE_ENTITY);

    app.fixture().await;
    let before = snapshot(&app).await;
    for (name, (lon, lat)) in [("rome", rome), ("oslo", oslo)] {
        let d = app.write(Method::POST, "/api/v1/sites", Some(&staff), None, &at(name, lon, lat)).await.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(d.contains("km from the nearest municipality") && d.contains("within 20.0 km"), "{d}");
        let tag = etag(&app, "/api/v1/sites/S-1").await;
        let d = app
            .write(Method::PATCH, "/api/v1/sites/S-1", Some(&staff), Some(&tag), &json!({"lon": lon, "lat": lat}))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(d.contains("km from the nearest municipality"), "{d}");
    }
    // 30 km west of Duisburg's square: refused; 10 km west: across the
    // border within the margin, accepted (with no AGS).
    let (lon, lat) = lonlat(&app, 300_000.0, 5_705_000.0).await;
    let d = app.write(Method::POST, "/api/v1/sites", Some(&staff), None, &at("W-30", lon, lat)).await.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(d.contains("lies 30.0 km"), "{d}");
    assert_eq!(snapshot(&app).await, before, "a refused write changed something");
    let (lon, lat) = lonlat(&app, 320_000.0, 5_705_000.0).await;
    let r = app.write(Method::POST, "/api/v1/sites", Some(&staff), None, &at("W-10", lon, lat)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.bytes));
    assert_eq!(r.json()["ags"], Value::Null);

    // The margin is configurable: 40 km lets the 30 km one in.
    let wide = funkplan_api::router(app.state.clone().with_site_margin_m(40_000.0));
    let (lon, lat) = lonlat(&app, 300_000.0, 5_705_000.0).await;
    let req = axum::http::Request::post("/api/v1/sites")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {staff}"))
        .body(axum::body::Body::from(at("W-30", lon, lat).to_string()))
        .unwrap();
    let resp = tower::ServiceExt::oneshot(wide, req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn if_match_must_be_a_concrete_strong_etag() {
    let app = App::new().await;
    app.fixture().await;
    let t = app.token(DUS).await;
    let patch = json!({"status": "permitting"});
    let d = app.write(Method::PATCH, "/api/v1/sites/S-2", Some(&t), Some("*"), &patch).await.problem(StatusCode::PRECONDITION_REQUIRED);
    assert!(d.contains("concrete ETag") && d.contains("\"1\""), "{d}");
    let d = app.write(Method::PATCH, "/api/v1/sites/S-2", Some(&t), Some("W/\"1\""), &patch).await.problem(StatusCode::PRECONDITION_FAILED);
    assert!(d.contains("weak validators cannot be used for If-Match"), "{d}");
    let d = app
        .write(Method::PATCH, "/api/v1/measures/M-1", Some(&t), Some("W/\"1\""), &json!({"status": "in_progress"}))
        .await
        .problem(StatusCode::PRECONDITION_FAILED);
    assert!(d.contains("weak"), "{d}");
    app.write(Method::PATCH, "/api/v1/measures/M-1", Some(&t), Some("*"), &json!({"status": "in_progress"}))
        .await
        .problem(StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(etag(&app, "/api/v1/sites/S-2").await, "\"1\"", "nothing was written");
    // A list naming the current version is a strong match.
    let r = app.write(Method::PATCH, "/api/v1/sites/S-2", Some(&t), Some("\"7\", \"1\""), &patch).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.bytes));
}

#[tokio::test]
async fn duplicates_and_dot_ids_are_refused_in_the_products_words() {
    let app = App::new().await;
    app.fixture().await;
    let t = app.token("staff").await;
    let d = app.write(Method::POST, "/api/v1/sites", Some(&t), None, &new_site("S-1", "planned", &json!({}))).await.problem(StatusCode::CONFLICT);
    assert_eq!(d, "a site with id \"S-1\" exists already");
    let m = json!({"measure_id": "M-1", "site_id": "S-1", "kind": "lte_upgrade", "status": "planned"});
    let d = app.write(Method::POST, "/api/v1/measures", Some(&t), None, &m).await.problem(StatusCode::CONFLICT);
    assert_eq!(d, "a measure with id \"M-1\" exists already");
    // Unknown operator: the foreign key, in words.
    let d = app
        .write(Method::POST, "/api/v1/sites", Some(&t), None, &new_site("N-1", "planned", &json!({"operator": "nobody"})))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(d.contains("unknown operator"), "{d}");
    for sql in ["duplicate key", "constraint", "violates", "site_pkey", "relation", "fkey"] {
        assert!(!d.contains(sql), "database text in a 4xx: {d}");
    }

    for id in [".", ".."] {
        let d = app.write(Method::POST, "/api/v1/sites", Some(&t), None, &new_site(id, "planned", &json!({}))).await.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(d.contains("site_id") && d.contains("not \".\" or \"..\""), "{d}");
        let m = json!({"measure_id": id, "site_id": "S-1", "kind": "lte_upgrade", "status": "planned"});
        let d = app.write(Method::POST, "/api/v1/measures", Some(&t), None, &m).await.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(d.contains("measure_id"), "{d}");
    }
    let c = app.db.client().await;
    let n: i64 = c.query_one("SELECT count(*) FROM site WHERE site_id IN ('.', '..')", &[]).await.unwrap().get(0);
    assert_eq!(n, 0);
}
