//! A municipality's figures served from memory (issue 19) equal the SQL
//! path's byte for byte, and memory never answers with figures older than
//! the database's: after a change the SQL path answers until a load of the
//! new data version is in.
#![allow(clippy::unwrap_used)]

mod common;

use common::App;
use funkplan_api::AppState;
use funkplan_db::testing::TestDb;

#[tokio::test]
async fn figures_from_memory_equal_sql_and_follow_changes() {
    let app = App::new().await;
    app.fixture().await;
    let sql_state = AppState::new(app.state.db().clone())
        .with_web_dir("/nonexistent/web/dist")
        .with_memory(false);
    assert!(
        sql_state
            .wait_until_caching(std::time::Duration::from_secs(10))
            .await
    );
    let sql_app = App {
        db: TestDb::new().await,
        router: funkplan_api::router(sql_state.clone()),
        state: sql_state,
    };
    app.state.load_memory_now().await.unwrap();

    // Every municipality, and one that does not exist.
    for ags in ["05111000", "05112000", "05315000", "05999000"] {
        let uri = format!("/api/v1/municipalities/{ags}");
        let before = app.state.served_from_memory();
        let (mem, sql) = (app.get(&uri).await, sql_app.get(&uri).await);
        assert_eq!(
            app.state.served_from_memory(),
            before + 1,
            "{uri} not answered from memory"
        );
        assert_eq!(mem.status, sql.status, "{uri}");
        assert_eq!(
            mem.header("content-type"),
            sql.header("content-type"),
            "{uri}"
        );
        if ags == "05999000" {
            assert_eq!(mem.status, axum::http::StatusCode::NOT_FOUND);
            assert_eq!(mem.json()["detail"], sql.json()["detail"]);
        } else {
            assert_eq!(mem.bytes, sql.bytes, "{uri}: memory and SQL differ");
        }
    }

    // A change in Köln: the loaded figures are of the old version, so the
    // next answer (Düsseldorf's) comes from SQL and asks for a load.
    assert_eq!(
        sql_app.get("/api/v1/municipalities/05315000").await.json()["sites"]["on_air"],
        1
    );
    app.sql("UPDATE site SET status = 'construction', technologies = '{}', on_air_date = NULL WHERE site_id = 'S-4'").await;
    let before = app.state.served_from_memory();
    let r = app
        .get_with("/api/v1/municipalities/05111000", &[("host", "b.test")])
        .await;
    assert_eq!(r.status, axum::http::StatusCode::OK);
    assert_eq!(
        app.state.served_from_memory(),
        before,
        "memory of an older data version answered"
    );
    // Once the load is in, memory answers again, with the new figures (Köln,
    // not asked since the change, so the response cache holds nothing).
    for _ in 0..200 {
        if app.state.figures_memory_version() == app.state.data_version() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        app.state.figures_memory_version(),
        app.state.data_version(),
        "no load of the new data version within 4 s"
    );
    let uri = "/api/v1/municipalities/05315000";
    let before = app.state.served_from_memory();
    let r = app.get_with(uri, &[("host", "c.test")]).await;
    assert_eq!(
        app.state.served_from_memory(),
        before + 1,
        "not answered from memory after the load"
    );
    assert_eq!(
        r.json()["sites"],
        serde_json::json!({"construction": 1}),
        "memory holds figures older than the database"
    );
    assert_eq!(
        r.bytes,
        sql_app.get_with(uri, &[("host", "d.test")]).await.bytes
    );
}
