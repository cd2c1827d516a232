//! Incremental updates (`Live::sites_changed`) against a full recompute:
//! a sequence of single-site writes, and concurrent ones, leave exactly the
//! figures, operator figures and dead spots a full recompute writes, and the
//! targets' running month equals every target's current value.

#![allow(clippy::unwrap_used)]

mod common;

use chrono::Utc;
use funkplan_coverage::{CoverageSource, Live, Recompute};
use funkplan_db::testing::TestDb;
use tokio_postgres::Client;

/// Results, operator results and dead spots as comparable text (households
/// to 1e-3: sums of fractional households may differ in the last bits
/// with the summation order).
async fn snapshot(c: &Client) -> Vec<String> {
    let mut out = Vec::new();
    for r in c
        .query(
            "SELECT scenario, ags::text, technology, households, cells, cells_covered, dead_cells, grey_cells, households_covered
             FROM coverage_result ORDER BY 1, 2, 3",
            &[],
        )
        .await
        .unwrap()
    {
        out.push(format!(
            "R {} {} {} {:.3} {} {} {} {} {:.3}",
            r.get::<_, bool>(0),
            r.get::<_, String>(1),
            r.get::<_, String>(2),
            r.get::<_, f64>(3),
            r.get::<_, i32>(4),
            r.get::<_, i32>(5),
            r.get::<_, i32>(6),
            r.get::<_, i32>(7),
            r.get::<_, f64>(8)
        ));
    }
    for r in c
        .query(
            "SELECT scenario, ags::text, technology, operator_id, cells_covered, households_covered
             FROM coverage_operator_result ORDER BY 1, 2, 3, 4",
            &[],
        )
        .await
        .unwrap()
    {
        out.push(format!(
            "O {} {} {} {} {} {:.3}",
            r.get::<_, bool>(0),
            r.get::<_, String>(1),
            r.get::<_, String>(2),
            r.get::<_, String>(3),
            r.get::<_, i32>(4),
            r.get::<_, f64>(5)
        ));
    }
    for r in c.query("SELECT id, cells, ST_AsText(geom) FROM dead_spot ORDER BY id", &[]).await.unwrap() {
        out.push(format!("D {} {} {}", r.get::<_, String>(0), r.get::<_, i32>(1), r.get::<_, String>(2)));
    }
    out
}

/// Every target's running-month point equals its current value.
async fn assert_running_month_current(db: &funkplan_db::Db) {
    let month = funkplan_targets::month_of(Utc::now().date_naive());
    let c = db.conn().await.unwrap();
    for t in funkplan_targets::load(db).await.unwrap() {
        let (v, _) = funkplan_targets::metric_value(db, &t, Utc::now()).await.unwrap();
        let p: f64 = c
            .query_one("SELECT value FROM target_history WHERE target_id = $1 AND month = $2", &[&t.id, &month])
            .await
            .unwrap()
            .get(0);
        assert!((p - v).abs() < 1e-9, "{}: running month {p}, current value {v}", t.id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_single_writes_equal_full_recompute() {
    let t = TestDb::new().await;
    let db = t.db().await;
    let c = t.client().await;
    common::fixture(&c, 23, true).await;
    let live = Live::load(&db, Some(CoverageSource::Union)).await.unwrap();
    live.recompute(&db, Recompute::default()).await.unwrap();
    let before = snapshot(&c).await;
    // As `funkplan serve` does at start-up: opens and prepares, writes
    // nothing; the writes below then run on the prepared statements.
    let counts = "SELECT (SELECT count(*) FROM coverage_run) + (SELECT count(*) FROM target_history)";
    let rows_before: i64 = c.query_one(counts, &[]).await.unwrap().get(0);
    live.warm_up(&db).await.unwrap();
    assert_eq!(snapshot(&c).await, before, "warm_up writes no figures");
    assert_eq!(c.query_one(counts, &[]).await.unwrap().get::<_, i64>(0), rows_before, "warm_up records no run or point");

    // One write at a time, each followed by its incremental update, as the
    // API does: status steps, technology changes, moves, a new site, a
    // deleted site, measure completions.
    let steps: Vec<(&str, &str)> = vec![
        ("S-1", "UPDATE site SET status = 'on_air', technologies = '{lte}' WHERE site_id = 'S-1'"),
        ("S-2", "UPDATE site SET status = 'on_air', technologies = '{lte,5g}' WHERE site_id = 'S-2'"),
        ("S-4", "UPDATE site SET geom = ST_Point(351500, 5701500, 25832) WHERE site_id = 'S-4'"),
        ("S-1", "UPDATE site SET technologies = '{lte,5g}' WHERE site_id = 'S-1'"),
        ("NEW-1", "INSERT INTO site (site_id, operator_id, geom, status, technologies) VALUES ('NEW-1', 'telefonica', ST_Point(352400, 5700900, 25832), 'on_air', '{lte}')"),
        ("S-7", "UPDATE site SET status = 'decommissioned' WHERE site_id = 'S-7'"),
        ("NEW-1", "UPDATE site SET geom = ST_Point(350300, 5702800, 25832), technologies = '{5g}' WHERE site_id = 'NEW-1'"),
        ("S-9", "DELETE FROM measure WHERE site_id = 'S-9'; DELETE FROM site WHERE site_id = 'S-9'"),
        ("S-2", "UPDATE site SET technologies = '{}' WHERE site_id = 'S-2'"),
    ];
    for (site, sql) in &steps {
        c.batch_execute(sql).await.unwrap();
        let stats = live.sites_changed(&db, &[(*site).to_owned()]).await.unwrap();
        assert!(stats.incremental && stats.municipalities >= 1, "{site}: {stats:?}");
    }
    // Complete every open measure, one measure write at a time.
    let open: Vec<(String, String)> = c
        .query("SELECT measure_id, site_id FROM measure WHERE status <> 'completed' ORDER BY measure_id LIMIT 6", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(!open.is_empty(), "the fixture has open measures");
    for (m, s) in &open {
        c.execute("UPDATE measure SET status = 'completed', completed_date = DATE '2024-05-02' WHERE measure_id = $1", &[m])
            .await
            .unwrap();
        live.sites_changed(&db, std::slice::from_ref(s)).await.unwrap();
    }
    let after_incremental = snapshot(&c).await;
    assert_ne!(after_incremental, before, "the writes changed the figures");
    assert_running_month_current(&db).await;
    let incr: i64 = c.query_one("SELECT count(*) FROM coverage_run WHERE incremental", &[]).await.unwrap().get(0);
    assert_eq!(incr, 2 * i64::try_from(steps.len() + open.len()).unwrap(), "actual and scenario run per write");

    let fresh = Live::load(&db, Some(CoverageSource::Union)).await.unwrap();
    fresh.recompute(&db, Recompute::default()).await.unwrap();
    let after_full = snapshot(&c).await;
    assert_eq!(after_incremental.len(), after_full.len());
    for (i, f) in after_incremental.iter().zip(&after_full) {
        assert_eq!(i, f);
    }
}

/// Concurrent writes of the same and of different sites: whatever order
/// the updates run in, the last one to take the engine sees the last state,
/// so nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_lose_nothing() {
    let t = TestDb::new().await;
    let db = t.db().await;
    let c = t.client().await;
    common::fixture(&c, 5, false).await;
    let live = Live::load(&db, Some(CoverageSource::Modelled)).await.unwrap();
    live.recompute(&db, Recompute::default()).await.unwrap();
    for round in 0..4 {
        // Two commits to S-3 and one to S-6, then three updates at once.
        let x = 350_300.0 + 700.0 * f64::from(round);
        c.execute("UPDATE site SET geom = ST_Point($1, 5700600, 25832), status = 'on_air', technologies = '{lte}' WHERE site_id = 'S-3'", &[&x])
            .await
            .unwrap();
        let first = {
            let (live, db) = (live.clone(), db.clone());
            tokio::spawn(async move { live.sites_changed(&db, &["S-3".to_owned()]).await })
        };
        c.execute("UPDATE site SET geom = ST_Point($1, 5702200, 25832), technologies = '{lte,5g}' WHERE site_id = 'S-3'", &[&(x + 300.0)])
            .await
            .unwrap();
        c.execute("UPDATE site SET status = 'on_air', technologies = '{5g}', geom = ST_Point($1, 5701000, 25832) WHERE site_id = 'S-6'", &[&(x + 900.0)])
            .await
            .unwrap();
        let (a, b) = {
            let (l1, d1, l2, d2) = (live.clone(), db.clone(), live.clone(), db.clone());
            tokio::join!(
                async move { l1.sites_changed(&d1, &["S-3".to_owned()]).await },
                async move { l2.sites_changed(&d2, &["S-6".to_owned()]).await }
            )
        };
        first.await.unwrap().unwrap();
        a.unwrap();
        b.unwrap();
    }
    let after_incremental = snapshot(&c).await;
    let fresh = Live::load(&db, Some(CoverageSource::Modelled)).await.unwrap();
    fresh.recompute(&db, Recompute::default()).await.unwrap();
    assert_eq!(after_incremental, snapshot(&c).await);
}

/// Several `serve` nodes (issue 25): node B's engine follows writes node A
/// applied (`Live::follow`: re-read and re-stamp, nothing written) and ends
/// with the cells a freshly loaded engine has, in both views; following
/// again, or a site already as held, changes nothing.
#[tokio::test]
async fn a_following_engine_equals_a_fresh_one_and_writes_nothing() {
    use funkplan_coverage::tiles::{CellArea, View};
    let t = TestDb::new().await;
    let db = t.db().await;
    let c = t.client().await;
    common::fixture(&c, 29, true).await;
    let writer = Live::load(&db, Some(CoverageSource::Union)).await.unwrap();
    writer.recompute(&db, Recompute::default()).await.unwrap();
    let follower = Live::load(&db, Some(CoverageSource::Union)).await.unwrap();
    let all = CellArea { n0: 0, n1: 1_000_000, e0: 0, e1: 1_000_000 };
    let cells = |l: Live| async move { (l.tile_cells(all, View::Actual).await.items, l.tile_cells(all, View::Scenario).await.items) };
    let start = cells(follower.clone()).await;
    let runs = "SELECT count(*) FROM coverage_run";
    let steps: Vec<(&str, &str)> = vec![
        ("S-1", "UPDATE site SET status = 'on_air', technologies = '{lte,5g}' WHERE site_id = 'S-1'"),
        ("S-4", "UPDATE site SET geom = ST_Point(351500, 5701500, 25832) WHERE site_id = 'S-4'"),
        ("NEW-1", "INSERT INTO site (site_id, operator_id, geom, status, technologies) VALUES ('NEW-1', 'telefonica', ST_Point(352400, 5700900, 25832), 'on_air', '{lte}')"),
        ("S-9", "DELETE FROM measure WHERE site_id = 'S-9'; DELETE FROM site WHERE site_id = 'S-9'"),
    ];
    for (site, sql) in &steps {
        c.batch_execute(sql).await.unwrap();
        writer.sites_changed(&db, &[(*site).to_owned()]).await.unwrap();
        let before: i64 = c.query_one(runs, &[]).await.unwrap().get(0);
        assert!(follower.follow(&db, &[(*site).to_owned()]).await.unwrap() > 0, "{site} re-stamped");
        assert_eq!(c.query_one(runs, &[]).await.unwrap().get::<_, i64>(0), before, "following writes no run");
        assert_eq!(follower.follow(&db, &[(*site).to_owned()]).await.unwrap(), 0, "{site} followed twice: nothing to do");
    }
    let followed = cells(follower.clone()).await;
    assert_ne!(followed, start, "the writes changed cells");
    let fresh = Live::load(&db, Some(CoverageSource::Union)).await.unwrap();
    assert_eq!(followed, cells(fresh).await, "the follower holds what a fresh engine loads");
    assert_eq!(followed, cells(writer).await, "and what the writing engine holds");
}
