//! Target metrics, history and verdicts on hand-made fixtures with known
//! answers.

#![allow(clippy::unwrap_used)]

use chrono::{NaiveDate, TimeZone, Utc};
use funkplan_db::testing::TestDb;
use funkplan_targets::{history, load, metric_value, rebuild_history, status_all, CoveragePoint};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

async fn fixture(c: &tokio_postgres::Client) {
    c.batch_execute(
        "INSERT INTO site (site_id, operator_id, geom, status, technologies) VALUES
            ('A', 'telekom', ST_Point(350000, 5700000, 25832), 'on_air', '{lte}'),
            ('B', 'vodafone', ST_Point(351000, 5700000, 25832), 'on_air', '{lte}');
         -- 5G upgrades: 3 completed by the end of 2024, one after, one open.
         INSERT INTO measure (measure_id, site_id, kind, status, completed_date) VALUES
            ('G1', 'A', '5g_upgrade', 'completed', '2022-03-05'),
            ('G2', 'B', '5g_upgrade', 'completed', '2023-06-10'),
            ('G3', 'A', '5g_upgrade', 'completed', '2024-11-30'),
            ('G4', 'B', '5g_upgrade', 'completed', '2025-01-15'),
            ('G5', 'B', '5g_upgrade', 'planned', NULL),
         -- LTE measures: only those completed after 2021-11-16 count.
            ('L1', 'A', 'lte_upgrade', 'completed', '2021-11-16'),
            ('L2', 'A', 'lte_new_site', 'completed', '2021-11-17'),
            ('L3', 'B', 'lte_upgrade', 'in_progress', NULL);
         -- Two test targets on the same metric with small goals.
         INSERT INTO target (id, title, unit, comparator, target_value, deadline, metric, metric_params, source_document, sort_order)
         VALUES ('t-met', 'met in time', 'count', 'ge', 3, '2024-12-31', 'measures_completed', '{\"kinds\": [\"5g_upgrade\"]}', 'test', 10),
                ('t-late', 'met late', 'count', 'ge', 4, '2024-12-31', 'measures_completed', '{\"kinds\": [\"5g_upgrade\"]}', 'test', 11);",
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn counts_history_and_verdicts() {
    let t = TestDb::new().await;
    let db = t.db().await;
    fixture(&t.client().await).await;
    let targets = load(&db).await.unwrap();
    let up = targets.iter().find(|t| t.id == "5g-upgrades").unwrap();
    let lte = targets.iter().find(|t| t.id == "lte-measures").unwrap();
    let end_2024 = Utc.with_ymd_and_hms(2024, 12, 31, 12, 0, 0).unwrap();
    assert_eq!(metric_value(&db, up, end_2024).await.unwrap().0, 3.0, "3 of 4 completed upgrades by the end of 2024");
    assert_eq!(metric_value(&db, up, Utc::now()).await.unwrap().0, 4.0);
    assert_eq!(metric_value(&db, lte, Utc::now()).await.unwrap().0, 1.0, "2021-11-16 itself is not after the adoption");

    let written = rebuild_history(&db, None).await.unwrap();
    assert!(written > 0);
    let h = history(&db, "5g-upgrades").await.unwrap().unwrap();
    assert_eq!(h.first().unwrap().month, d("2021-11-01"), "starts with the first completed measure");
    let at = |m: &str| h.iter().find(|p| p.month == d(m)).unwrap().value;
    assert_eq!(at("2021-11-01"), 0.0);
    assert_eq!(at("2022-02-01"), 0.0);
    assert_eq!(at("2022-03-01"), 1.0);
    assert_eq!(at("2024-10-01"), 2.0);
    assert_eq!(at("2024-11-01"), 3.0);
    assert_eq!(at("2024-12-01"), 3.0);
    assert_eq!(at("2025-01-01"), 4.0);
    // Consecutive months, up to the running one.
    for w in h.windows(2) {
        assert_eq!(w[0].month.checked_add_months(chrono::Months::new(1)).unwrap(), w[1].month);
    }
    assert_eq!(h.last().unwrap().month, funkplan_targets::month_of(Utc::now().date_naive()));
    let hl = history(&db, "lte-measures").await.unwrap().unwrap();
    assert_eq!(hl.iter().find(|p| p.month == d("2021-11-01")).unwrap().value, 1.0);
    assert!(history(&db, "no-such-target").await.unwrap().is_none());
    // Coverage targets without engine output keep the current value for
    // the running month only (no coverage computed: 0).
    assert_eq!(history(&db, "5g-households").await.unwrap().unwrap().len(), 1);

    let st = status_all(&db).await.unwrap();
    let get = |id: &str| st.iter().find(|s| s.id == id).unwrap();
    let met = get("t-met");
    assert!(met.deadline_passed);
    assert_eq!(met.met_at_deadline, Some(true));
    assert_eq!(met.met_on, Some(d("2024-11-01")));
    assert_eq!(met.forecast.value_at_deadline, Some(3.0));
    let late = get("t-late");
    assert_eq!(late.met_at_deadline, Some(false));
    assert_eq!(late.met_on, Some(d("2025-01-01")));
    assert!(late.met, "met now, after the deadline");
    let up = get("5g-upgrades");
    assert_eq!(up.current_value, 4.0);
    assert!(!up.met);
    assert!(up.forecast.method.contains("least squares"));
    assert!(up.forecast.rate_actual_per_month.is_some());
    // JSON field names of DESIGN §7.
    let v = serde_json::to_value(up).unwrap();
    for k in ["id", "title", "unit", "target_value", "deadline", "current_value", "progress", "as_of", "source", "forecast"] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    for k in ["value_at_deadline", "on_track", "rate_needed_per_month", "rate_actual_per_month"] {
        assert!(v["forecast"].get(k).is_some(), "missing forecast.{k}");
    }
}

#[tokio::test]
async fn coverage_history_from_engine_points() {
    let t = TestDb::new().await;
    let db = t.db().await;
    fixture(&t.client().await).await;
    let pt = |m: &str, tech: &str, hhc: f64, cov: u64| CoveragePoint {
        month: d(m),
        technology: tech.parse().unwrap(),
        households: 200.0,
        households_covered: hhc,
        cells: 400,
        cells_covered: cov,
    };
    let points = vec![
        pt("2024-01-01", "5g", 50.0, 100),
        pt("2024-02-01", "5g", 100.0, 200),
        pt("2024-01-01", "lte", 150.0, 300),
        pt("2024-02-01", "lte", 190.0, 390),
    ];
    rebuild_history(&db, Some(&points)).await.unwrap();
    let hh = history(&db, "5g-households").await.unwrap().unwrap();
    assert_eq!(hh.iter().map(|p| p.value).collect::<Vec<_>>(), vec![25.0, 50.0]);
    let area = history(&db, "5g-area").await.unwrap().unwrap();
    assert_eq!(area.iter().map(|p| p.value).collect::<Vec<_>>(), vec![25.0, 50.0]);
    let dead = history(&db, "lte-dead-spots").await.unwrap().unwrap();
    let v: Vec<f64> = dead.iter().map(|p| p.value).collect();
    assert!((v[0] - 1.0).abs() < 1e-12 && (v[1] - 0.1).abs() < 1e-12, "{v:?}");
    // Downward target: baseline is the first history value.
    let st = status_all(&db).await.unwrap();
    let ds = st.iter().find(|s| s.id == "lte-dead-spots").unwrap();
    assert_eq!(ds.baseline, Some(1.0));
}

/// The running month written by one statement equals each target's
/// `metric_value` (counts and coverage metrics, with and without figures);
/// a target with a broken definition is left out, not fatal.
#[tokio::test]
async fn running_month_equals_metric_values() {
    let t = TestDb::new().await;
    let db = t.db().await;
    let c = t.client().await;
    fixture(&c).await;
    let month = funkplan_targets::month_of(Utc::now().date_naive());
    let point = |id: &'static str| {
        let c = &c;
        async move {
            c.query_opt("SELECT value FROM target_history WHERE target_id = $1 AND month = $2", &[&id, &month])
                .await
                .unwrap()
                .map(|r| r.get::<_, f64>(0))
        }
    };
    // No figures yet: coverage metrics are 0, counts are counted.
    funkplan_targets::refresh_current_month(&db).await.unwrap();
    assert_eq!(point("5g-upgrades").await, Some(4.0));
    assert_eq!(point("lte-measures").await, Some(1.0));
    assert_eq!(point("5g-households").await, Some(0.0));
    // Figures for two municipalities, then a broken target beside.
    c.batch_execute(
        "INSERT INTO municipality (ags, name, geom) VALUES
             ('05000001', 'A', ST_Multi(ST_MakeEnvelope(0, 0, 10, 10, 25832))),
             ('05000002', 'B', ST_Multi(ST_MakeEnvelope(20, 0, 30, 10, 25832)));
         INSERT INTO coverage_run (run_id, source, scenario, incremental, municipalities, cells, started_at)
             VALUES (1, 'modelled', false, false, 2, 800, now());
         INSERT INTO coverage_result (scenario, ags, technology, households, households_covered, cells, cells_covered,
                                      dead_cells, grey_cells, source, run_id, computed_at)
         SELECT false, ags, tech, hh, hhc, cells, cov, dead, 0, 'modelled', 1, now()
         FROM (VALUES ('05000001', 'lte', 300.0, 240.0, 500, 430, 70), ('05000001', '5g', 300.0, 100.5, 500, 120, 380),
                      ('05000002', 'lte', 100.0, 99.0, 300, 299, 1), ('05000002', '5g', 100.0, 3.0, 300, 7, 293))
              AS v(ags, tech, hh, hhc, cells, cov, dead);
         INSERT INTO target (id, title, unit, comparator, target_value, deadline, metric, metric_params, source_document, sort_order)
         VALUES ('t-broken', 'broken', 'count', 'ge', 1, '2030-12-31', 'measures_completed', '{\"kinds\": []}', 'test', 12);",
    )
    .await
    .unwrap();
    funkplan_targets::refresh_current_month(&db).await.unwrap();
    let now = Utc::now();
    for tg in load(&db).await.unwrap().iter().filter(|t| t.id != "t-broken") {
        let (v, _) = metric_value(&db, tg, now).await.unwrap();
        let id: &'static str = Box::leak(tg.id.clone().into_boxed_str());
        let p = point(id).await.unwrap();
        assert!((p - v).abs() < 1e-12, "{}: running month {p}, metric {v}", tg.id);
    }
    assert_eq!(point("t-broken").await, None, "a broken definition is left out");
    assert!((point("5g-households").await.unwrap() - 100.0 * 103.5 / 400.0).abs() < 1e-12);
    assert!((point("5g-area").await.unwrap() - 100.0 * 127.0 / 800.0).abs() < 1e-12);
    assert!((point("lte-dead-spots").await.unwrap() - 0.71).abs() < 1e-12);
}

/// After a site write only the coverage metrics are refreshed: the counts
/// keep their point even when the measures changed meanwhile.
#[tokio::test]
async fn coverage_refresh_leaves_counts() {
    use funkplan_model::ChangeKind;
    use funkplan_targets::{running_month, RunningMonth};
    let t = TestDb::new().await;
    let db = t.db().await;
    let c = t.client().await;
    fixture(&c).await;
    funkplan_targets::refresh_current_month(&db).await.unwrap();
    let month = funkplan_targets::month_of(Utc::now().date_naive());
    let point = |id: &'static str| {
        let c = &c;
        async move {
            c.query_one("SELECT value FROM target_history WHERE target_id = $1 AND month = $2", &[&id, &month])
                .await
                .unwrap()
                .get::<_, f64>(0)
        }
    };
    assert_eq!(point("5g-upgrades").await, 4.0);
    c.batch_execute("UPDATE measure SET status = 'completed', completed_date = '2024-01-02' WHERE measure_id = 'G5'")
        .await
        .unwrap();
    let only_coverage = running_month(&c, ChangeKind::Sites).await.unwrap();
    let all = running_month(&c, ChangeKind::Measures).await.unwrap();
    assert_eq!(all.len(), 7, "5 seeded + 2 fixture targets");
    assert_eq!(only_coverage.len(), 3, "household share, area share, dead spots");
    let stmt = c.prepare(RunningMonth::SQL).await.unwrap();
    assert_eq!(only_coverage.record(&c, &stmt, Utc::now().date_naive()).await.unwrap(), 3);
    assert_eq!(point("5g-upgrades").await, 4.0, "counts untouched by a coverage refresh");
    assert_eq!(all.record(&c, &stmt, Utc::now().date_naive()).await.unwrap(), 7);
    assert_eq!(point("5g-upgrades").await, 5.0);
}
