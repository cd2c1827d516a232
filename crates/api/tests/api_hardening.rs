//! Issue 20 over the router on a real database: forwarded headers cannot
//! poison the response cache, the audit log is for staff, and throttled
//! authentication costs no database lookup.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use common::{App, Resp};
use funkplan_api::origin::OriginConfig;
use funkplan_api::router;

/// The read URLs the issue saw poisoned: a page with a `next` link, the
/// collections, one feature.
const URLS: [&str; 4] = [
    "/ogc/collections/sites/items?limit=1&operator=telekom",
    "/ogc/collections",
    "/ogc",
    "/ogc/collections/municipalities/items/05111000",
];

const FORWARDED: [(&str, &str); 5] = [
    ("x-forwarded-host", "attacker.test"),
    ("x-forwarded-proto", "https"),
    ("x-forwarded-prefix", "/evil"),
    ("forwarded", "host=attacker.test;proto=https"),
    ("x-forwarded-for", "6.6.6.6"),
];

fn text(r: &Resp) -> String {
    String::from_utf8_lossy(&r.bytes).into_owned()
}

/// A GET from `peer` through `app` with `headers`.
async fn get_from(app: &axum::Router, peer: &str, uri: &str, headers: &[(&str, &str)]) -> Resp {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut b = Request::get(uri).header("host", "test.local");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let mut req = b.body(Body::empty()).unwrap();
    req.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Resp { status, headers, bytes }
}

#[tokio::test]
async fn forwarded_headers_from_a_client_never_reach_another_clients_answer() {
    let app = App::new().await;
    app.fixture().await;
    for url in URLS {
        // The attacker asks first, so its answer is the one cached.
        let poisoned = app.get_with(url, &FORWARDED).await;
        assert_eq!(poisoned.status, StatusCode::OK, "{url}: {}", text(&poisoned));
        assert!(!text(&poisoned).contains("attacker.test"), "{url}: forwarded host believed from a client");
        assert!(!text(&poisoned).contains("/evil"), "{url}: forwarded prefix believed from a client");
        let victim = app.get(url).await;
        assert_eq!(victim.status, StatusCode::OK);
        let body = text(&victim);
        assert!(!body.contains("attacker.test") && body.contains("http://test.local/"), "{url}: {body}");
    }
    // The page had a next link, and it points home.
    let page = app.get(URLS[0]).await.json();
    let next = page["links"].as_array().unwrap().iter().find(|l| l["rel"] == "next");
    if let Some(n) = next {
        assert!(n["href"].as_str().unwrap().starts_with("http://test.local/ogc/"), "{n}");
    }
}

#[tokio::test]
async fn a_trusted_proxy_is_believed_and_its_answers_stay_its_own() {
    let app = App::new().await;
    app.fixture().await;
    let config = OriginConfig::new(None, OriginConfig::parse_proxies("10.0.0.0/8").unwrap()).unwrap();
    // Same cache as `app` (the state's clone), a router that trusts 10/8.
    let proxied = router(app.state.clone().with_origin(config));
    let url = URLS[1];
    let via_proxy = get_from(
        &proxied,
        "10.0.0.5:40000",
        url,
        &[("x-forwarded-host", "karte.example"), ("x-forwarded-proto", "https"), ("x-forwarded-prefix", "/funkplan")],
    )
    .await;
    assert!(text(&via_proxy).contains("https://karte.example/funkplan/ogc/collections"), "{}", text(&via_proxy));
    // A direct client of the same server: its own links, whatever it sends.
    let direct = get_from(&proxied, "203.0.113.1:40000", url, &FORWARDED).await;
    let body = text(&direct);
    assert!(body.contains("http://test.local/ogc/collections"), "{body}");
    assert!(!body.contains("karte.example") && !body.contains("attacker.test"), "{body}");
}

#[tokio::test]
async fn a_public_url_makes_every_link() {
    let app = App::new().await;
    app.fixture().await;
    let config = OriginConfig::new(Some("https://funkplan.nrw.example/app/"), vec![]).unwrap();
    let r = get_from(&router(app.state.clone().with_origin(config)), "203.0.113.1:1", URLS[2], &FORWARDED).await;
    let v = r.json();
    for l in v["links"].as_array().unwrap() {
        assert!(l["href"].as_str().unwrap().starts_with("https://funkplan.nrw.example/app/"), "{l}");
    }
}

#[tokio::test]
async fn the_audit_log_is_for_staff_and_admins() {
    let app = App::new().await;
    app.fixture().await;
    let staff = app.token("staff").await;
    let body = serde_json::json!({"site_id": "A-1", "operator": "telekom", "lon": 6.7668359, "lat": 51.2050714, "status": "planned"});
    app.write(Method::POST, "/api/v1/sites", Some(&staff), None, &body).await;
    app.get("/api/v1/audit").await.problem(StatusCode::UNAUTHORIZED);
    let muni = app.token("municipality:05111000").await;
    let d = app.get_with("/api/v1/audit", &[("authorization", &format!("Bearer {muni}"))]).await.problem(StatusCode::FORBIDDEN);
    assert!(d.contains("staff and admin"), "{d}");
    for t in [&staff, &app.token("admin").await] {
        let r = app.get_with("/api/v1/audit", &[("authorization", &format!("Bearer {t}"))]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", text(&r));
        assert_eq!(r.json()["total"], 1);
    }
}

/// `funkplan_auth_token_lookups_total` from `/metrics`.
async fn lookups(app: &App) -> u64 {
    let m = text(&app.get("/metrics").await);
    let line = m.lines().find(|l| l.starts_with("funkplan_auth_token_lookups_total ")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn throttled_authentication_is_answered_before_the_database() {
    let app = App::new().await;
    app.fixture().await;
    let bad = serde_json::json!({});
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(app.write(Method::POST, "/api/v1/sites", Some("fp_wrong"), None, &bad).await.status);
    }
    assert!(statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED), "{statuses:?}");
    let before = lookups(&app).await;
    assert!(before >= 20, "each failed attempt before the limit is a lookup ({before})");
    for _ in 0..10 {
        app.write(Method::POST, "/api/v1/sites", Some("fp_wrong"), None, &bad).await.problem(StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(lookups(&app).await, before, "a throttled request looked a token up");
    let m = text(&app.get("/metrics").await);
    assert!(m.contains("funkplan_auth_throttled_total 10"), "{m}");
    // A token that worked before is not locked out by the bad attempts
    // (it is looked up, so a revocation would still count).
    let app2 = App::new().await;
    app2.fixture().await;
    let staff = app2.token("staff").await;
    let site = serde_json::json!({"site_id": "T-1", "operator": "telekom", "lon": 6.7668359, "lat": 51.2050714, "status": "planned"});
    assert_eq!(app2.write(Method::POST, "/api/v1/sites", Some(&staff), None, &site).await.status, StatusCode::CREATED);
    for _ in 0..25 {
        app2.write(Method::POST, "/api/v1/sites", Some("fp_wrong"), None, &bad).await;
    }
    let site2 = serde_json::json!({"site_id": "T-2", "operator": "telekom", "lon": 6.7668359, "lat": 51.2050714, "status": "planned"});
    let r = app2.write(Method::POST, "/api/v1/sites", Some(&staff), None, &site2).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", text(&r));
}
