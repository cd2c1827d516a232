//! Authenticated writes of sites and measures, tokens, audit, and the
//! coverage hook, over the router on a real database.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use common::{App, RecordingHook};
use serde_json::json;

fn site(id: &str, e: f64, n: f64) -> serde_json::Value {
    // Points given in lon/lat; these are near Düsseldorf's fixture square
    // when built from metres with cs2cs, so use a fixed known one instead.
    let _ = (e, n);
    json!({"site_id": id, "operator": "telekom", "lon": 6.7668359, "lat": 51.2050714, "status": "planned", "technologies": []})
}

#[tokio::test]
async fn tokens_roles_and_auth_errors() {
    let app = App::new().await;
    app.fixture().await;
    let body = site("N-1", 0.0, 0.0);
    // No token, wrong scheme, unknown token: 401 with WWW-Authenticate.
    let r = app.write(Method::POST, "/api/v1/sites", None, None, &body).await;
    r.problem(StatusCode::UNAUTHORIZED);
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
    let r = app.write(Method::POST, "/api/v1/sites", Some("fp_nope"), None, &body).await;
    r.problem(StatusCode::UNAUTHORIZED);
    // Revoked token.
    let t = funkplan_api::create_token(app.state.db(), &"staff".parse().unwrap(), None).await.unwrap();
    assert!(t.token.starts_with("fp_") && t.token.len() == 67);
    assert_eq!(funkplan_api::revoke_token(app.state.db(), &t.id.to_string()).await.unwrap(), Some(t.id));
    app.write(Method::POST, "/api/v1/sites", Some(&t.token), None, &body).await.problem(StatusCode::UNAUTHORIZED);
    assert_eq!(funkplan_api::revoke_token(app.state.db(), "999999").await.unwrap(), None);
    // Only the hash is stored.
    let c = app.db.client().await;
    let stored: Vec<u8> = c.query_one("SELECT token_hash FROM api_token WHERE id = $1", &[&t.id]).await.unwrap().get(0);
    assert_eq!(stored, funkplan_api::auth::hash_token(&t.token).to_vec());
    let listed = funkplan_api::list_tokens(app.state.db()).await.unwrap();
    assert!(listed.iter().any(|i| i.id == t.id && i.revoked_at.is_some()));

    // A municipality may write only within its AGS: the point lies in Düsseldorf.
    let koeln = app.token("municipality:05315000").await;
    let d = app.write(Method::POST, "/api/v1/sites", Some(&koeln), None, &body).await.problem(StatusCode::FORBIDDEN);
    assert!(d.contains("05315000") && d.contains("05111000"), "{d}");
    let n = c.query_one("SELECT count(*) FROM site WHERE site_id = 'N-1'", &[]).await.unwrap().get::<_, i64>(0);
    assert_eq!(n, 0, "a refused write leaves nothing behind");
    let dus = app.token("municipality:05111000").await;
    let r = app.write(Method::POST, "/api/v1/sites", Some(&dus), None, &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.bytes));
    assert_eq!(r.json()["ags"], "05111000");
    // Nor change sites elsewhere, nor measures on them.
    let etag = app.get("/api/v1/sites/S-4").await.header("etag").unwrap();
    app.write(Method::PATCH, "/api/v1/sites/S-4", Some(&dus), Some(&etag), &json!({"status": "decommissioned"}))
        .await
        .problem(StatusCode::FORBIDDEN);
    app.write(
        Method::POST,
        "/api/v1/measures",
        Some(&dus),
        None,
        &json!({"measure_id": "X", "site_id": "S-4", "kind": "lte_upgrade", "status": "planned"}),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn failed_authentication_is_rate_limited_per_address() {
    let app = App::new().await;
    let body = site("N-1", 0.0, 0.0);
    // A token that works, used once before the flood of bad ones.
    let good = app.token("staff").await;
    let r = app.write(Method::POST, "/api/v1/sites", Some(&good), None, &json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "authenticated, then refused for its body");
    let mut last = StatusCode::OK;
    for _ in 0..25 {
        last = app.write(Method::POST, "/api/v1/sites", Some("fp_wrong"), None, &body).await.status;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    // Bad attempts stay throttled, and so does a token never seen before
    // (answered before any database lookup, issue 20) ...
    let r = app.write(Method::POST, "/api/v1/sites", Some("fp_wrong_again"), None, &body).await;
    r.problem(StatusCode::TOO_MANY_REQUESTS);
    let fresh = app.token("staff").await;
    app.write(Method::POST, "/api/v1/sites", Some(&fresh), None, &body).await.problem(StatusCode::TOO_MANY_REQUESTS);
    // ... but a token that worked is never locked out by them (several
    // writers may share one address; behind a proxy, configure it as
    // trusted so that each client counts on its own).
    let r = app.write(Method::POST, "/api/v1/sites", Some(&good), None, &body).await;
    assert_ne!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_ne!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn create_read_update_site_with_etags_and_transitions() {
    let app = App::new().await;
    app.fixture().await;
    let staff = app.token("staff").await;
    let r = app.write(Method::POST, "/api/v1/sites", Some(&staff), None, &site("N-1", 0.0, 0.0)).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.header("location").as_deref(), Some("/api/v1/sites/N-1"));
    assert_eq!(r.header("etag").as_deref(), Some("\"1\""));
    let j = r.json();
    assert_eq!(j["lon"], 6.766836);
    assert_eq!(j["lat"], 51.205071);
    assert_eq!(j["status"], "planned");
    // Duplicate id: 409.
    app.write(Method::POST, "/api/v1/sites", Some(&staff), None, &site("N-1", 0.0, 0.0)).await.problem(StatusCode::CONFLICT);
    // GET with ETag and 304.
    let g = app.get("/api/v1/sites/N-1").await;
    assert_eq!(g.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(app.get_with("/api/v1/sites/N-1", &[("if-none-match", "\"1\"")]).await.status, StatusCode::NOT_MODIFIED);
    app.get("/api/v1/sites/none").await.problem(StatusCode::NOT_FOUND);

    let patch = json!({"status": "construction"});
    // No If-Match: 428; stale: 412.
    app.write(Method::PATCH, "/api/v1/sites/N-1", Some(&staff), None, &patch).await.problem(StatusCode::PRECONDITION_REQUIRED);
    app.write(Method::PATCH, "/api/v1/sites/N-1", Some(&staff), Some("\"7\""), &patch)
        .await
        .problem(StatusCode::PRECONDITION_FAILED);
    let r = app.write(Method::PATCH, "/api/v1/sites/N-1", Some(&staff), Some("\"1\""), &patch).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.bytes));
    assert_eq!(r.header("etag").as_deref(), Some("\"2\""));
    assert_eq!(r.json()["status"], "construction");
    // Backwards is refused with the allowed next states.
    let d = app
        .write(Method::PATCH, "/api/v1/sites/N-1", Some(&staff), Some("\"2\""), &json!({"status": "planned"}))
        .await
        .problem(StatusCode::CONFLICT);
    assert!(d.contains("allowed next: on_air, decommissioned"), "{d}");
    // Moving the site (within the border margin of the fixture) and
    // clearing a date.
    let r = app
        .write(
            Method::PATCH,
            "/api/v1/sites/N-1",
            Some(&staff),
            Some("\"2\""),
            &json!({"lon": 6.9, "lat": 50.85, "planned_date": null, "technologies": ["5g", "lte", "5g"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.bytes));
    let j = r.json();
    assert_eq!(j["technologies"], json!(["5g", "lte"]));
    assert_eq!(j["ags"], serde_json::Value::Null, "moved outside all fixture municipalities");
    // Validation: 422 for wrong fields and values, 400 for broken JSON, 415 without JSON.
    for bad in [
        json!({"site_id": "N-2", "operator": "telekom", "lon": 7.0, "lat": 51.0, "status": "onair", "technologies": []}),
        json!({"site_id": "N-2", "operator": "nobody", "lon": 7.0, "lat": 51.0, "status": "planned", "technologies": []}),
        json!({"site_id": "N 2", "operator": "telekom", "lon": 7.0, "lat": 51.0, "status": "planned", "technologies": []}),
        json!({"site_id": "N-2", "operator": "telekom", "lon": 700.0, "lat": 51.0, "status": "planned", "technologies": []}),
        json!({"site_id": "N-2", "operator": "telekom", "lon": -171.0, "lat": 0.0, "status": "planned", "technologies": []}),
        json!({"site_id": "N-2", "operator": "telekom", "lon": 7.0, "lat": 51.0, "status": "planned", "colour": "red"}),
        json!({"site_id": "N-2", "operator": "Telekom!", "lon": 7.0, "lat": 51.0, "status": "planned"}),
    ] {
        let r = app.write(Method::POST, "/api/v1/sites", Some(&staff), None, &bad).await;
        r.problem(StatusCode::UNPROCESSABLE_ENTITY);
    }
    app.write(Method::PATCH, "/api/v1/sites/N-1", Some(&staff), Some("\"3\""), &json!({"lon": 7.0}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .send(
            axum::http::Request::post("/api/v1/sites")
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {staff}"))
                .body(axum::body::Body::from("{\"site_id\":"))
                .unwrap(),
        )
        .await;
    r.problem(StatusCode::BAD_REQUEST);
    let r = app
        .send(
            axum::http::Request::post("/api/v1/sites")
                .header("authorization", format!("Bearer {staff}"))
                .body(axum::body::Body::from("site_id=1"))
                .unwrap(),
        )
        .await;
    r.problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = format!("{{\"site_id\":\"{}\"}}", "x".repeat(2 << 20));
    let r = app
        .send(
            axum::http::Request::post("/api/v1/sites")
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {staff}"))
                .body(axum::body::Body::from(huge))
                .unwrap(),
        )
        .await;
    r.problem(StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_with_one_etag_let_exactly_one_win() {
    let app = Arc::new(App::new().await);
    app.fixture().await;
    let staff = app.token("staff").await;
    let etag = app.get("/api/v1/sites/S-2").await.header("etag").unwrap();
    let targets = ["permitting", "construction", "on_air", "decommissioned", "permitting", "construction", "on_air", "decommissioned"];
    let mut tasks = Vec::new();
    for status in targets {
        let (app, staff, etag) = (app.clone(), staff.clone(), etag.clone());
        tasks.push(tokio::spawn(async move {
            app.write(Method::PATCH, "/api/v1/sites/S-2", Some(&staff), Some(&etag), &json!({"status": status})).await.status
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::PRECONDITION_FAILED).count(), 7, "{statuses:?}");
    let auth = format!("Bearer {staff}");
    let audit = app.get_with("/api/v1/audit?entity=site&entity_id=S-2", &[("authorization", &auth)]).await.json();
    assert_eq!(audit["total"], 1);
    assert_eq!(app.get("/api/v1/sites/S-2").await.header("etag").as_deref(), Some("\"2\""));
}

#[tokio::test]
async fn measures_life_cycle_audit_and_the_hook() {
    let hook = Arc::new(RecordingHook::default());
    let app = App::with_hook(Some(hook.clone())).await;
    *hook.url.lock().unwrap() = Some(app.db.url.clone());
    app.fixture().await;
    let staff = app.token("staff").await;

    let before_targets = app.get("/api/v1/targets").await.json();
    let count = |t: &serde_json::Value, id: &str| {
        t.as_array().unwrap().iter().find(|x| x["id"] == id).unwrap()["current_value"].as_f64().unwrap()
    };
    assert_eq!(count(&before_targets, "5g-upgrades"), 1.0);
    let before = app.get("/api/v1/municipalities/05111000").await.json();
    assert_eq!(before["coverage"]["5g"]["household_share"], 0.8);

    // Unknown site: 422. Completed with a date on a non-completed status: 422.
    app.write(Method::POST, "/api/v1/measures", Some(&staff), None,
        &json!({"measure_id": "M-9", "site_id": "S-99", "kind": "5g_upgrade", "status": "planned"}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    app.write(Method::POST, "/api/v1/measures", Some(&staff), None,
        &json!({"measure_id": "M-9", "site_id": "S-2", "kind": "5g_upgrade", "status": "planned", "completed_date": "2025-01-01"}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .write(Method::POST, "/api/v1/measures", Some(&staff), None,
            &json!({"measure_id": "M-9", "site_id": "S-2", "kind": "5g_upgrade", "status": "planned", "planned_date": "2025-02-01"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.bytes));
    assert_eq!(hook.calls.lock().unwrap().last().unwrap(), &vec!["S-2".to_owned()]);
    app.write(Method::POST, "/api/v1/measures", Some(&staff), None,
        &json!({"measure_id": "M-9", "site_id": "S-2", "kind": "5g_upgrade", "status": "planned"}))
        .await
        .problem(StatusCode::CONFLICT);

    // Complete it: the site goes on air with 5G, the target counts it, the
    // hook's figures show in the municipality.
    let etag = app.get("/api/v1/measures/M-9").await.header("etag").unwrap();
    let r = app
        .write(Method::PATCH, "/api/v1/measures/M-9", Some(&staff), Some(&etag), &json!({"status": "completed", "completed_date": "2026-11-20"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.bytes));
    assert_eq!(r.json()["completed_date"], "2026-11-20");
    let s = app.get("/api/v1/sites/S-2").await.json();
    assert_eq!(s["status"], "on_air");
    assert_eq!(s["technologies"], json!(["5g"]));
    let after_targets = app.get("/api/v1/targets").await.json();
    assert_eq!(count(&after_targets, "5g-upgrades"), 2.0);
    let after = app.get("/api/v1/municipalities/05111000").await.json();
    assert_eq!(after["coverage"]["5g"]["household_share"], 1.0);
    assert_eq!(after["sites"]["on_air"], 2);
    assert_eq!(after["measures"]["5g_upgrade"], json!({"completed": 1, "planned": 1}));
    let j = app.get("/ogc/collections/municipalities/items/05111000").await.json();
    assert_eq!(j["properties"]["household_share_5g"], 1.0);

    // Completed is final.
    let etag = app.get("/api/v1/measures/M-9").await.header("etag").unwrap();
    let d = app
        .write(Method::PATCH, "/api/v1/measures/M-9", Some(&staff), Some(&etag), &json!({"status": "in_progress"}))
        .await
        .problem(StatusCode::CONFLICT);
    assert!(d.contains("none (final state)"), "{d}");
    app.write(Method::PATCH, "/api/v1/measures/M-9", Some(&staff), None, &json!({"status": "completed"}))
        .await
        .problem(StatusCode::PRECONDITION_REQUIRED);
    app.write(Method::PATCH, "/api/v1/measures/none", Some(&staff), Some("\"1\""), &json!({}))
        .await
        .problem(StatusCode::NOT_FOUND);
    // Completing without a date takes today.
    let etag = app.get("/api/v1/measures/M-1").await.header("etag").unwrap();
    let r = app.write(Method::PATCH, "/api/v1/measures/M-1", Some(&staff), Some(&etag), &json!({"status": "completed"})).await;
    assert_eq!(r.json()["completed_date"], chrono::Utc::now().date_naive().to_string());

    // The audit log has who, what, before and after, newest first.
    let auth = format!("Bearer {staff}");
    let audit_get = |uri: String| {
        let auth = auth.clone();
        let app = &app;
        async move { app.get_with(&uri, &[("authorization", &auth)]).await }
    };
    let a = audit_get("/api/v1/audit?limit=2".into()).await.json();
    assert_eq!(a["total"], 3);
    let items = a["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["entity_id"], "M-1");
    assert_eq!(items[1]["entity_id"], "M-9");
    assert_eq!(items[1]["action"], "update");
    assert_eq!(items[1]["before"]["status"], "planned");
    assert_eq!(items[1]["after"]["status"], "completed");
    assert!(items[1]["actor"].as_str().unwrap().ends_with("(staff)"));
    let next = a["next"].as_str().unwrap();
    let rest = audit_get(next.strip_prefix("http://test.local").unwrap().to_owned()).await.json();
    assert_eq!(rest["items"][0]["action"], "create");
    assert_eq!(rest["items"][0]["before"], serde_json::Value::Null);
    assert_eq!(rest["next"], serde_json::Value::Null);
    audit_get("/api/v1/audit?entity=tower".into()).await.problem(StatusCode::BAD_REQUEST);
    assert_eq!(hook.calls.lock().unwrap().len(), 3);
}

/// A failing hook is logged, not returned: the write stands.
struct FailingHook;

impl funkplan_api::CoverageHook for FailingHook {
    fn changed(&self, _change: funkplan_model::Change) -> futures_util::future::BoxFuture<'static, Result<(), funkplan_api::HookError>> {
        Box::pin(async { Err("engine away".into()) })
    }
}

#[tokio::test]
async fn hook_failure_does_not_fail_the_write() {
    let app = App::with_hook(Some(Arc::new(FailingHook))).await;
    app.fixture().await;
    let staff = app.token("admin").await;
    let r = app.write(Method::POST, "/api/v1/sites", Some(&staff), None, &site("N-5", 0.0, 0.0)).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(app.get("/api/v1/sites/N-5").await.status, StatusCode::OK);
}
