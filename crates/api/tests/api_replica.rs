//! Issue 25 on one database (the real standby set-up is
//! tests/tests/replicas.rs): consistency tokens on writes, a malformed
//! token refused, a token the node's cache has not seen bypassing that
//! cache, and the replica checker's verdicts on servers that cannot serve
//! as standbys.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::{Method, StatusCode};
use common::App;
use funkplan_db::{Lsn, ReadSet, ReadSource, ReplicaOptions};
use serde_json::json;

#[tokio::test]
async fn writes_carry_a_token_and_reads_check_it() {
    let app = App::new().await;
    app.fixture().await;
    let token = app.token("staff").await;
    let site = |id: &str| json!({"site_id": id, "operator": "telekom", "lon": 6.7668359, "lat": 51.2050714, "status": "planned", "technologies": []});
    let r1 = app.write(Method::POST, "/api/v1/sites", Some(&token), None, &site("T-1")).await;
    assert_eq!(r1.status, StatusCode::CREATED);
    let t1: Lsn = r1.header("funkplan-consistency").expect("token on a write").parse().unwrap();
    let r2 = app.write(Method::POST, "/api/v1/sites", Some(&token), None, &site("T-2")).await;
    let t2: Lsn = r2.header("funkplan-consistency").unwrap().parse().unwrap();
    assert!(t2 > t1, "a later write has a later position: {t1} then {t2}");
    // A refused write carries none.
    let bad = app.write(Method::POST, "/api/v1/sites", Some(&token), None, &site("T-1")).await;
    assert_eq!(bad.status, StatusCode::CONFLICT);
    assert!(bad.header("funkplan-consistency").is_none());

    // Reads with the token answer; a malformed one is the client's error.
    let ok = app.get_with("/api/v1/municipalities/05111000", &[("funkplan-consistency", &t2.to_string())]).await;
    assert_eq!(ok.status, StatusCode::OK);
    let detail = app.get_with("/api/v1/municipalities/05111000", &[("funkplan-consistency", "0/xyz")]).await.problem(StatusCode::BAD_REQUEST);
    assert!(detail.contains("funkplan-consistency") && detail.contains("not a WAL position"), "{detail}");
}

#[tokio::test]
async fn a_token_newer_than_the_cache_knows_is_answered_from_the_database() {
    let app = App::new().await;
    app.fixture().await;
    let uri = "/api/v1/municipalities/05111000";
    assert_eq!(app.get(uri).await.json()["name"], "Düsseldorf");
    app.state.load_memory_now().await.unwrap();
    // A change the node is not told of (triggers off: no notification), as
    // when another node's change has not reached this one yet.
    let c = app.db.client().await;
    c.batch_execute(
        "ALTER TABLE municipality DISABLE TRIGGER USER; UPDATE municipality SET name = 'Düsseldorf (neu)' WHERE ags = '05111000'; \
         ALTER TABLE municipality ENABLE TRIGGER USER",
    )
    .await
    .unwrap();
    let lsn: String = c.query_one("SELECT pg_current_wal_lsn()::text", &[]).await.unwrap().get(0);
    assert_eq!(app.get(uri).await.json()["name"], "Düsseldorf", "the cache answers without a token");
    let fresh = app.get_with(uri, &[("funkplan-consistency", &lsn)]).await;
    assert_eq!(fresh.json()["name"], "Düsseldorf (neu)", "a token past the cache's version is read from the database");
    // Nor does the data held in memory at that version answer it (the
    // figures above, and the OGC collections).
    let items = "/ogc/collections/municipalities/items?ags=05111000";
    let mem = app.get_with(items, &[("host", "m.test")]).await;
    assert_eq!(mem.json()["features"][0]["properties"]["name"], "Düsseldorf", "memory, without a token");
    let fresh = app.get_with(items, &[("host", "n.test"), ("funkplan-consistency", &lsn)]).await;
    assert_eq!(fresh.json()["features"][0]["properties"]["name"], "Düsseldorf (neu)", "a token past the memory's version");
}

#[tokio::test]
async fn servers_that_cannot_serve_as_standbys_stay_out_of_rotation() {
    let t = funkplan_db::testing::TestDb::new().await;
    let primary = t.db().await;
    let opts = funkplan_db::PoolOptions { max_size: 2, ..funkplan_db::PoolOptions::default() };
    // The primary itself given as a standby, and a server that is not there.
    let not_standby = funkplan_db::Db::lazy(&t.url, &opts).unwrap();
    let away = funkplan_db::Db::lazy("postgresql://nobody@127.0.0.1:1/none", &opts).unwrap();
    let reads = ReadSet::new(primary, vec![not_standby, away], ReplicaOptions::default());
    reads.check().await;
    let st = reads.status();
    assert_eq!(st.len(), 2);
    assert!(!st[0].in_rotation && st[0].error.as_deref().unwrap().contains("not a standby"), "{st:?}");
    assert!(!st[1].in_rotation && st[1].error.is_some(), "{st:?}");
    assert!(reads.primary_up());
    assert_eq!(reads.pick(Lsn(0)).await, ReadSource::Primary);
    assert_eq!(reads.name(ReadSource::Standby(1)), "standby-2");
    assert!(reads.primary_lsn().await.unwrap() > Lsn(0));
}
