//! Group commit of incremental updates (issue 20): concurrent
//! `sites_changed` calls are done by far fewer engine runs than calls, each
//! call returns only once figures including its own change are committed,
//! the result equals a full recompute, runs that overlap (one writing while
//! the next computes) write in the order they computed, and an error of a
//! grouped run reaches every call of the group.

#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

mod common;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use funkplan_coverage::{CoverageSource, Error, Live, Recompute};
use funkplan_db::testing::TestDb;
use tokio::sync::Barrier;

/// How many writers commit and then ask for their update at once.
const WRITERS: usize = 24;

/// Commit a change of site `S-{i}` (moved, on air) on a connection of its
/// own; the database's clock right after the commit.
async fn commit_change(t: &TestDb, i: usize, round: u32) -> DateTime<Utc> {
    let c = t.client().await;
    let x = 350_200.0 + ((i * 157 + round as usize * 61) % 3600) as f64;
    let y = 5_700_200.0 + ((i * 331 + round as usize * 97) % 3600) as f64;
    let site = format!("S-{i}");
    c.execute(
        "UPDATE site SET geom = ST_Point($2, $3, 25832), status = 'on_air', technologies = '{lte,5g}' WHERE site_id = $1",
        &[&site, &x, &y],
    )
    .await
    .unwrap();
    c.query_one("SELECT clock_timestamp()", &[]).await.unwrap().get(0)
}

/// The figures as comparable text (households to 1e-3: sums may differ in
/// the last bits with the summation order).
async fn snapshot(c: &tokio_postgres::Client) -> Vec<String> {
    c.query(
        "SELECT scenario, ags::text, technology, cells_covered, round(households_covered::numeric, 3)::text
         FROM coverage_result ORDER BY 1, 2, 3",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| format!("{} {} {} {} {}", r.get::<_, bool>(0), r.get::<_, String>(1), r.get::<_, String>(2), r.get::<_, i32>(3), r.get::<_, String>(4)))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_share_runs_and_each_returns_after_its_figures() {
    let t = Arc::new(TestDb::new().await);
    let db = t.db().await;
    let c = t.client().await;
    common::fixture(&c, 11, false).await;
    let live = Live::load(&db, Some(CoverageSource::Modelled)).await.unwrap();
    live.recompute(&db, Recompute::default()).await.unwrap();
    live.warm_up(&db).await.unwrap();
    let before = live.update_counts();

    for round in 0..3u32 {
        // Every writer commits its change, then all ask at once, as the API's
        // handlers do after their COMMITs.
        let barrier = Arc::new(Barrier::new(WRITERS));
        let writers = (0..WRITERS).map(|i| {
            let (t, live, db, barrier) = (Arc::clone(&t), live.clone(), db.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                let committed = commit_change(&t, i, round).await;
                barrier.wait().await;
                let site = format!("S-{i}");
                let stats = live.sites_changed(&db, std::slice::from_ref(&site)).await.unwrap();
                // On return, the figures of the site's municipality come
                // from a results transaction that began after the change
                // had committed (its `computed_at` is that transaction's
                // start), and the run that served this call wrote them.
                let c = t.client().await;
                let row = c
                    .query_one(
                        "SELECT min(r.computed_at), bool_and(r.run_id = ANY($2))
                         FROM coverage_result r JOIN site s ON s.ags = r.ags WHERE s.site_id = $1",
                        &[&site, &stats.run_ids],
                    )
                    .await
                    .unwrap();
                let (figures_at, by_this_run): (Option<DateTime<Utc>>, Option<bool>) = (row.get(0), row.get(1));
                let figures_at = figures_at.unwrap_or_else(|| panic!("{site}: no figures for its municipality"));
                assert!(figures_at >= committed, "{site}: returned with figures of {figures_at}, older than its change ({committed})");
                // Unless a later run (of a later change nearby) has
                // rewritten them since, they are this run's.
                let later: i64 = c
                    .query_one("SELECT count(*) FROM coverage_run WHERE incremental AND run_id > ALL($1)", &[&stats.run_ids])
                    .await
                    .unwrap()
                    .get(0);
                assert!(by_this_run == Some(true) || later > 0, "{site}: figures not written by the run that served it: {stats:?}");
                stats
            })
        });
        let stats: Vec<_> = futures_util::future::join_all(writers).await.into_iter().map(Result::unwrap).collect();
        assert_eq!(stats.len(), WRITERS, "every call completes");
        assert!(stats.iter().all(|s| s.incremental && s.batch_writes >= 1), "{stats:?}");
    }

    // Far fewer engine runs than calls, and the counter agrees with the
    // runs recorded in the database (actual and scenario each).
    let counts = live.update_counts();
    let calls = counts.calls - before.calls;
    let runs = counts.runs - before.runs;
    assert_eq!(calls, 3 * WRITERS as u64);
    assert!(runs * 4 <= calls, "{runs} engine runs for {calls} calls: the updates were not grouped");
    let recorded: i64 = c.query_one("SELECT count(*) FROM coverage_run WHERE incremental", &[]).await.unwrap().get(0);
    assert_eq!(recorded, 2 * i64::try_from(runs).unwrap());

    // Nothing lost in the grouping: a full recompute writes the same.
    let incremental = snapshot(&c).await;
    let fresh = Live::load(&db, Some(CoverageSource::Modelled)).await.unwrap();
    fresh.recompute(&db, Recompute::default()).await.unwrap();
    assert_eq!(incremental, snapshot(&c).await);
}

/// A run writes its results while the next one computes: the results must
/// still commit in the order the runs computed, else an older run's figures
/// would overwrite a newer one's. Writers move their sites again and again
/// without waiting for each other, so runs overlap all the time; whatever
/// the interleaving, the figures left equal a full recompute, and every
/// call saw figures at least as new as its change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_runs_leave_the_figures_of_the_last_state() {
    let t = Arc::new(TestDb::new().await);
    let db = t.db().await;
    let c = t.client().await;
    common::fixture(&c, 13, false).await;
    let live = Live::load(&db, Some(CoverageSource::Modelled)).await.unwrap();
    live.recompute(&db, Recompute::default()).await.unwrap();
    live.warm_up(&db).await.unwrap();
    let writers = (0..8).map(|i| {
        let (t, live, db) = (Arc::clone(&t), live.clone(), db.clone());
        tokio::spawn(async move {
            for round in 0..12u32 {
                let committed = commit_change(&t, i, round).await;
                let stats = live.sites_changed(&db, &[format!("S-{i}")]).await.unwrap();
                assert!(stats.computed_at.is_some_and(|at| at >= committed), "S-{i} round {round}: {stats:?} older than {committed}");
            }
        })
    });
    for w in futures_util::future::join_all(writers).await {
        w.unwrap();
    }
    let counts = live.update_counts();
    assert!(counts.runs >= 2, "{counts:?}");
    let incremental = snapshot(&c).await;
    let fresh = Live::load(&db, Some(CoverageSource::Modelled)).await.unwrap();
    fresh.recompute(&db, Recompute::default()).await.unwrap();
    assert_eq!(incremental, snapshot(&c).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_of_a_grouped_run_reaches_every_call_with_its_cause() {
    let t = Arc::new(TestDb::new().await);
    let db = t.db().await;
    let c = t.client().await;
    common::fixture(&c, 12, false).await;
    let live = Live::load(&db, Some(CoverageSource::Modelled)).await.unwrap();
    live.recompute(&db, Recompute::default()).await.unwrap();
    // From now on no results transaction can commit.
    c.batch_execute("ALTER TABLE coverage_run ADD CONSTRAINT no_more_runs CHECK (run_id < 0) NOT VALID").await.unwrap();
    let barrier = Arc::new(Barrier::new(WRITERS));
    let writers = (0..WRITERS).map(|i| {
        let (t, live, db, barrier) = (Arc::clone(&t), live.clone(), db.clone(), Arc::clone(&barrier));
        tokio::spawn(async move {
            commit_change(&t, i, 0).await;
            barrier.wait().await;
            live.sites_changed(&db, &[format!("S-{i}")]).await
        })
    });
    let results: Vec<_> = futures_util::future::join_all(writers).await.into_iter().map(Result::unwrap).collect();
    let mut grouped = 0;
    for r in &results {
        let e = r.as_ref().unwrap_err();
        let text = e.to_string();
        assert!(text.contains("recording the coverage run"), "the cause is lost: {text}");
        if let Error::Batch { writes, source } = e {
            assert!(*writes > 1);
            assert!(matches!(**source, Error::Db(_)), "{source:?}");
            grouped += 1;
        }
    }
    assert!(grouped > 0, "no call was grouped with another: {results:?}");
    let counts = live.update_counts();
    assert!(counts.runs < counts.calls, "{counts:?}");
}
