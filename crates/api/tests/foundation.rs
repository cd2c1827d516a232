//! The foundation endpoints over the router (no sockets), on a real database.
#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use funkplan_api::{router, AppState};
use funkplan_db::testing::TestDb;
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn get(app: axum::Router, uri: &str) -> (StatusCode, serde_json::Value) {
    let resp = app.oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn healthz_answers_ok_when_the_database_does() {
    let t = TestDb::new().await;
    let app = router(AppState::new(t.db().await));
    let (s, body) = get(app, "/healthz").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body, serde_json::json!({"status": "ok"}));
}

#[tokio::test]
async fn targets_lists_the_five_seeded_targets() {
    let t = TestDb::new().await;
    let app = router(AppState::new(t.db().await));
    let (s, body) = get(app, "/api/v1/targets").await;
    assert_eq!(s, StatusCode::OK);
    let arr = body.as_array().expect("array");
    let pairs: Vec<(String, f64)> = arr
        .iter()
        .map(|t| (t["id"].as_str().unwrap().to_owned(), t["target_value"].as_f64().unwrap()))
        .collect();
    assert_eq!(
        pairs,
        vec![
            ("5g-upgrades".into(), 10300.0),
            ("5g-households".into(), 90.0),
            ("lte-measures".into(), 7500.0),
            ("lte-dead-spots".into(), 0.0),
            ("5g-area".into(), 90.0),
        ]
    );
    for t in arr {
        assert_eq!(t["current_value"].as_f64(), Some(0.0), "{t}");
        let p = t["progress"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p));
        for k in ["title", "unit", "deadline", "as_of", "source"] {
            assert!(t.get(k).is_some(), "missing {k} in {t}");
        }
    }
}
