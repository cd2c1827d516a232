//! The engine against the PostGIS reference and the database, on random
//! SQL fixtures (see `common`).

#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

mod common;

use funkplan_coverage::reference::Session;
use funkplan_coverage::{CoverageSource, Live, Recompute};
use funkplan_db::testing::TestDb;

const SOURCES: [CoverageSource; 3] = [CoverageSource::Reported, CoverageSource::Modelled, CoverageSource::Union];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_equals_postgis_reference_for_every_source_and_scenario() {
    for (seed, reported) in [(1u64, true), (2, false), (3, true), (4, true)] {
        let t = TestDb::new().await;
        let db = t.db().await;
        common::fixture(&t.client().await, seed, reported).await;
        let session = Session::prepare(&db).await.unwrap();
        let (_, partial) = session.tile_pairs().await.unwrap();
        assert!(partial > 0, "seed {seed}: disks a few cells wide are tested cell by cell");
        assert_engine_equals_reference(&db, &session, seed, reported).await;
    }
}

/// Radii of kilometres: sites cover whole 1 km tiles, which the reference
/// hands to the tile's cells at once, beside rims it tests cell by cell.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_equals_postgis_reference_where_sites_cover_whole_tiles() {
    for (seed, reported) in [(5u64, true), (6, false)] {
        let t = TestDb::new().await;
        let db = t.db().await;
        let c = t.client().await;
        common::fixture(&c, seed, reported).await;
        c.batch_execute(
            "UPDATE coverage_radius SET radius_m = CASE technology || '/' || setting
                 WHEN 'lte/urban' THEN 900 WHEN 'lte/rural' THEN 1400 WHEN '5g/urban' THEN 650 ELSE 1200 END",
        )
        .await
        .unwrap();
        let session = Session::prepare(&db).await.unwrap();
        let (whole, partial) = session.tile_pairs().await.unwrap();
        assert!(whole > 0 && partial > 0, "seed {seed}: {whole} whole-tile pairs, {partial} partial");
        assert_engine_equals_reference(&db, &session, seed, reported).await;
    }
}

/// Every source, actual and scenario: the engine's figures equal the
/// prepared reference's; and the fixture is not trivial.
async fn assert_engine_equals_reference(db: &funkplan_db::Db, session: &Session, seed: u64, reported: bool) {
    for source in SOURCES {
        let live = Live::load(db, Some(source)).await.unwrap();
        let c = live.compute().await;
        let scale: f64 = c.actual.iter().map(|f| f[0].households).sum();
        assert!(scale > 1000.0);
        for scenario in [false, true] {
            let r = session.figures(source, scenario).await.unwrap();
            let d = live.compare(&c, &r, scenario).await;
            assert_eq!(d.rows, 6, "3 municipalities with cells × 2 technologies");
            assert!(d.equal(scale), "seed {seed} {source} scenario={scenario}: {d:#?}");
        }
        // The fixture is not trivial: some cells covered, some dead.
        let lte: u32 = c.actual.iter().map(|f| f[0].cells_covered).sum();
        let dead: u32 = c.actual.iter().map(|f| f[0].dead_cells).sum();
        if reported || source != CoverageSource::Reported {
            assert!(lte > 0 && dead > 0, "seed {seed} {source}: covered {lte}, dead {dead}");
        } else {
            assert_eq!(lte, 0, "no reported grid: nothing reported covered");
        }
        let scen: u32 = c.scenario.iter().map(|f| f[1].cells_covered).sum();
        let act: u32 = c.actual.iter().map(|f| f[1].cells_covered).sum();
        assert!(scen >= act);
        if source == CoverageSource::Reported && reported {
            assert!(c.actual.iter().take(3).all(|f| f[0].operators.is_none()), "count-only rows: per-operator absent");
        }
        if source == CoverageSource::Modelled {
            assert!(c.actual.iter().take(3).all(|f| f[0].operators.is_some()));
        }
    }
}

/// Issue 16: three releases with cells gained, lost and changed between
/// them, and sites coming on air over the years. For dates before, between
/// and after the releases, the engine's figures for the date equal the
/// PostGIS reference prepared for the same date, every source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_equals_postgis_reference_at_dates_over_releases() {
    let t = TestDb::new().await;
    let db = t.db().await;
    let c = t.client().await;
    common::fixture(&c, 21, true).await;
    common::releases(&c).await;
    let live = Live::load(&db, None).await.unwrap();
    assert_eq!(live.release_dates().await.len(), 3);
    let mut reported_cells = Vec::new();
    for date in ["2020-06-30", "2021-03-31", "2022-02-28", "2023-06-30"] {
        let date: chrono::NaiveDate = date.parse().unwrap();
        let session = Session::prepare_at(&db, Some(date)).await.unwrap();
        for source in SOURCES {
            let at = live.figures_at(date, source).await;
            let r = session.figures(source, false).await.unwrap();
            let d = funkplan_coverage::reference::compare(&at.ags, &at.operators, &at.figures, &r);
            let scale: f64 = at.figures.iter().map(|f| f[0].households).sum();
            assert_eq!(d.rows, 6, "3 municipalities with cells × 2 technologies");
            assert!(d.equal(scale), "{date} {source}: {d:#?}");
            if source == CoverageSource::Reported {
                reported_cells.push(at.figures.iter().map(|f| f[0].cells_covered).sum::<u32>());
                assert_eq!(at.release, RELEASE_AT.iter().find(|(d, _)| *d == date.to_string()).and_then(|(_, r)| r.map(|r| r.parse().unwrap())));
            }
        }
    }
    // Not trivial: nothing before the first release; cells gained from
    // release 1 to 2 but lost from 2 to 3 can go either way, the counts
    // differ at every date.
    assert_eq!(reported_cells[0], 0, "no release in force yet");
    assert!(reported_cells.windows(2).all(|w| w[0] != w[1]), "{reported_cells:?}");
    // Now (no date) is the latest release, as before.
    let now = Session::prepare(&db).await.unwrap();
    let c_now = live.compute().await;
    let d = live.compare(&c_now, &now.figures(CoverageSource::Union, false).await.unwrap(), false).await;
    assert!(d.equal(c_now.actual.iter().map(|f| f[0].households).sum()), "{d:#?}");
}

/// Issue 16: `recompute` builds the targets' history over the releases:
/// each month's 5G household share is the engine's figure for the month's
/// last day (release in force, sites on air), the history starts with the
/// first release, and "Stand zur Frist" is the deadline month's value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recompute_writes_the_history_over_releases() {
    let t = TestDb::new().await;
    let db = t.db().await;
    let c = t.client().await;
    common::fixture(&c, 22, true).await;
    common::releases(&c).await;
    let live = Live::load(&db, None).await.unwrap();
    let stats = live.recompute(&db, Recompute::default()).await.unwrap();
    assert_eq!(stats.releases, 3);
    let hist = funkplan_targets::history(&db, "5g-households").await.unwrap().unwrap();
    assert_eq!(hist.first().unwrap().month.to_string(), common::RELEASES[0], "the history starts with the first release");
    let today = chrono::Utc::now().date_naive();
    for p in &hist {
        let end = p.month.checked_add_months(chrono::Months::new(1)).unwrap().pred_opt().unwrap().min(today);
        let at = live.figures_at(end, CoverageSource::Union).await;
        let hh: f64 = at.figures.iter().map(|f| f[1].households).sum();
        let cov: f64 = at.figures.iter().map(|f| f[1].households_covered).sum();
        assert!((p.value - 100.0 * cov / hh).abs() < 1e-9, "{}: history {} vs figures_at {}", p.month, p.value, 100.0 * cov / hh);
    }
    // The series steps at the release dates (release 2 lost cells).
    let at = |m: &str| hist.iter().find(|p| p.month.to_string() == m).unwrap().value;
    assert!((at("2021-12-01") - at("2022-01-01")).abs() > 1e-9, "a step at the second release");
    // Stand zur Frist (31.12.2022): the December 2022 point, not today's value.
    let st = funkplan_targets::status_all(&db).await.unwrap();
    let s = st.iter().find(|s| s.id == "5g-households").unwrap();
    assert_eq!(s.forecast.value_at_deadline, Some(at("2022-12-01")));
    assert_eq!(s.met_at_deadline, Some(at("2022-12-01") > 90.0));
}

/// `Live::figures_at` keeps its last results until a site changes: the
/// second call for a date is kept, a site write forgets it, and the fresh
/// figures show the write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figures_at_are_kept_until_a_site_changes() {
    let t = TestDb::new().await;
    let db = t.db().await;
    let c = t.client().await;
    common::fixture(&c, 23, true).await;
    common::releases(&c).await;
    let live = Live::load(&db, Some(CoverageSource::Modelled)).await.unwrap();
    let date: chrono::NaiveDate = "2022-06-30".parse().unwrap();
    let first = live.figures_at(date, CoverageSource::Modelled).await;
    let again = live.figures_at(date, CoverageSource::Modelled).await;
    assert!(!first.cached && again.cached);
    assert_eq!(first.figures, again.figures);
    assert!(!live.figures_at(date, CoverageSource::Union).await.cached, "kept per source");
    // A new LTE site of its own operator, on air since 2021, in the middle of the block.
    c.batch_execute(
        "INSERT INTO site (site_id, operator_id, geom, status, technologies, on_air_date)
         VALUES ('NEW-1', 'vodafone', ST_Point(352000, 5702000, 25832), 'on_air', '{lte}', DATE '2021-01-01')",
    )
    .await
    .unwrap();
    live.sites_changed(&db, &["NEW-1".to_owned()]).await.unwrap();
    let after = live.figures_at(date, CoverageSource::Modelled).await;
    assert!(!after.cached);
    let lte = |f: &funkplan_coverage::FiguresAt| f.figures.iter().map(|m| m[0].cells_covered).sum::<u32>();
    assert!(lte(&after) >= lte(&first));
    assert_ne!(after.figures, first.figures, "the new site counts at the date");
}

/// `Live::changes`: between the first and second release of the fixture
/// cells are both gained and lost, and the changes are the difference of
/// the figures at the two dates; an unknown AGS has none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_between_releases_of_a_municipality() {
    let t = TestDb::new().await;
    let db = t.db().await;
    let c = t.client().await;
    common::fixture(&c, 24, true).await;
    common::releases(&c).await;
    let live = Live::load(&db, None).await.unwrap();
    let (from, to): (chrono::NaiveDate, chrono::NaiveDate) = ("2021-06-30".parse().unwrap(), "2022-06-30".parse().unwrap());
    let ch = live.changes("05000002", from, to, CoverageSource::Reported).await.unwrap();
    assert_eq!((ch.release_from.unwrap().to_string(), ch.release_to.unwrap().to_string()), ("2021-01-01".into(), "2022-01-01".into()));
    let lte = &ch.tech[0];
    assert!(lte.cells_gained > 0 && lte.cells_lost > 0, "{lte:?}");
    assert!(!lte.gained.is_empty() && !lte.lost.is_empty());
    let (a, b) = (live.figures_at(from, CoverageSource::Reported).await, live.figures_at(to, CoverageSource::Reported).await);
    let (fa, fb) = (&a.get("05000002").unwrap()[0], &b.get("05000002").unwrap()[0]);
    assert_eq!(i64::from(fb.cells_covered) - i64::from(fa.cells_covered), i64::from(lte.cells_gained) - i64::from(lte.cells_lost));
    assert_eq!((lte.dead_cells_before, lte.dead_cells_after), (fa.dead_cells, fb.dead_cells));
    assert!(live.changes("05999999", from, to, CoverageSource::Reported).await.is_none());
}

/// The release in force at each date of the test above.
const RELEASE_AT: [(&str, Option<&str>); 4] =
    [("2020-06-30", None), ("2021-03-31", Some("2021-01-01")), ("2022-02-28", Some("2022-01-01")), ("2023-06-30", Some("2023-01-01"))];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recompute_writes_results_dead_spots_and_history() {
    let t = TestDb::new().await;
    let db = t.db().await;
    let c = t.client().await;
    common::fixture(&c, 7, false).await;
    let live = Live::load(&db, None).await.unwrap();
    assert_eq!(live.source().await, CoverageSource::Modelled, "no reported grid: default is modelled");
    let stats = live.recompute(&db, Recompute::default()).await.unwrap();
    assert_eq!(stats.run_ids.len(), 2);
    assert_eq!(stats.municipalities, 4);
    let computed = live.compute().await;
    let rows = c
        .query(
            "SELECT ags::text, technology, scenario, households, households_covered, cells, cells_covered, dead_cells, grey_cells, source
             FROM coverage_result ORDER BY scenario, ags, technology",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 16, "4 municipalities × 2 technologies × actual/scenario");
    for r in &rows {
        let ags: String = r.get(0);
        let tech: String = r.get(1);
        let scenario: bool = r.get(2);
        let m = ["05000001", "05000002", "05000003", "05000009"].iter().position(|a| *a == ags).unwrap();
        let ti = usize::from(tech == "5g");
        let f = &if scenario { &computed.scenario } else { &computed.actual }[m][ti];
        assert_eq!(r.get::<_, i32>(5), i32::try_from(f.cells).unwrap());
        assert_eq!(r.get::<_, i32>(6), i32::try_from(f.cells_covered).unwrap());
        assert_eq!(r.get::<_, i32>(7), i32::try_from(f.dead_cells).unwrap());
        assert_eq!(r.get::<_, String>(9), "modelled");
    }
    // Per-operator rows for the modelled source.
    let n: i64 = c.query_one("SELECT count(*) FROM coverage_operator_result", &[]).await.unwrap().get(0);
    assert_eq!(n, 4 * 2 * 2 * 4);
    // Dead spots: valid polygons, area = cells × 0.01 km², ids <AGS>-<k>,
    // together exactly the LTE dead cells.
    let r = c
        .query_one(
            "SELECT count(*), coalesce(sum(cells), 0)::int, bool_and(ST_IsValid(geom)),
                    max(abs(ST_Area(geom) / 1e6 - cells * 0.01)), max(abs(area_km2 - cells * 0.01)),
                    bool_and(id ~ ('^' || ags || '-[0-9]+$'))
             FROM dead_spot",
            &[],
        )
        .await
        .unwrap();
    let spots: i64 = r.get(0);
    let spot_cells: i32 = r.get(1);
    assert!(spots > 0);
    assert!(r.get::<_, bool>(2), "every dead spot polygon is valid");
    assert!(r.get::<_, f64>(3) < 1e-9, "polygon area equals cells × 0.01 km²");
    assert!(r.get::<_, f64>(4) < 1e-12);
    assert!(r.get::<_, bool>(5));
    let dead: i64 =
        c.query_one("SELECT sum(dead_cells) FROM coverage_result WHERE NOT scenario AND technology = 'lte'", &[]).await.unwrap().get(0);
    assert_eq!(i64::from(spot_cells), dead);
    assert_eq!(usize::try_from(spots).unwrap(), stats.dead_spots);
    // Each dead cell's centre lies in exactly one dead spot of its municipality.
    let outside: i64 = c
        .query_one(
            "WITH cov AS (SELECT 1) SELECT count(*) FROM dead_spot d JOIN grid_cell g
               ON ST_Intersects(d.geom, ST_Point(g.e * 100 + 50, g.n * 100 + 50, 25832)) WHERE g.ags <> d.ags",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(outside, 0, "dead spots stay within their municipality");
    // History: every target has points up to the running month; the last
    // coverage point equals the current value.
    let h: i64 = c.query_one("SELECT count(DISTINCT target_id) FROM target_history", &[]).await.unwrap().get(0);
    assert_eq!(h, 5);
    let st = funkplan_targets::status_all(&db).await.unwrap();
    let first: chrono::NaiveDate = c
        .query_one("SELECT date_trunc('month', min(completed_date))::date FROM measure WHERE status = 'completed'", &[])
        .await
        .unwrap()
        .get(0);
    for s in &st {
        let hist = funkplan_targets::history(&db, &s.id).await.unwrap().unwrap();
        assert_eq!(hist.first().unwrap().month, first, "{}", s.id);
        let last = hist.last().unwrap().value;
        assert!((last - s.current_value).abs() < 1e-9, "{}: history ends at {last}, current {}", s.id, s.current_value);
    }
    assert!(funkplan_targets::history(&db, "no-such-target").await.unwrap().is_none());
}

/// After site changes, the incremental update leaves exactly the figures a
/// full recompute would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_update_equals_full_recompute() {
    let t = TestDb::new().await;
    let db = t.db().await;
    let c = t.client().await;
    common::fixture(&c, 11, true).await;
    let live = Live::load(&db, Some(CoverageSource::Union)).await.unwrap();
    live.recompute(&db, Recompute::default()).await.unwrap();

    // Move one site, add one, complete one open measure, delete one site.
    c.batch_execute(
        "UPDATE site SET geom = ST_Point(350200, 5700300, 25832), status = 'on_air', technologies = '{lte,5g}' WHERE site_id = 'S-3';
         INSERT INTO site (site_id, operator_id, geom, status, technologies) VALUES ('NEW-1', 'vodafone', ST_Point(353100, 5702100, 25832), 'on_air', '{lte}');
         DELETE FROM measure WHERE site_id = 'S-5';
         DELETE FROM site WHERE site_id = 'S-5';",
    )
    .await
    .unwrap();
    let open: Option<(String, String)> = c
        .query_opt("SELECT measure_id, site_id FROM measure WHERE status <> 'completed' ORDER BY measure_id LIMIT 1", &[])
        .await
        .unwrap()
        .map(|r| (r.get(0), r.get(1)));
    let mut changed = vec!["S-3".to_owned(), "NEW-1".to_owned(), "S-5".to_owned()];
    if let Some((m, s)) = open {
        c.execute("UPDATE measure SET status = 'completed', completed_date = DATE '2024-05-02' WHERE measure_id = $1", &[&m])
            .await
            .unwrap();
        changed.push(s);
    }
    let stats = live.sites_changed(&db, &changed).await.unwrap();
    assert!(stats.incremental && stats.municipalities >= 1);
    let after_incremental = snapshot(&c).await;
    let fresh = Live::load(&db, Some(CoverageSource::Union)).await.unwrap();
    fresh.recompute(&db, Recompute::default()).await.unwrap();
    let after_full = snapshot(&c).await;
    assert_eq!(after_incremental.0, after_full.0);
    assert_eq!(after_incremental.1, after_full.1);
    assert_eq!(after_incremental.2, after_full.2);
    let incr: i64 = c.query_one("SELECT count(*) FROM coverage_run WHERE incremental", &[]).await.unwrap().get(0);
    assert_eq!(incr, 2, "one incremental run row each for actual and scenario");
}

async fn snapshot(c: &tokio_postgres::Client) -> (Vec<String>, Vec<String>, Vec<String>) {
    {
        {
            let rows = c
                .query(
                    "SELECT scenario, ags::text, technology, cells, cells_covered, dead_cells, grey_cells, households_covered
                     FROM coverage_result ORDER BY 1, 2, 3",
                    &[],
                )
                .await
                .unwrap();
            let ops = c
                .query(
                    "SELECT scenario, ags::text, technology, operator_id, cells_covered FROM coverage_operator_result ORDER BY 1, 2, 3, 4",
                    &[],
                )
                .await
                .unwrap();
            let spots = c.query("SELECT id, cells, ST_AsText(geom) FROM dead_spot ORDER BY id", &[]).await.unwrap();
            (
                rows.iter()
                    .map(|r| {
                        (
                            r.get::<_, bool>(0),
                            r.get::<_, String>(1),
                            r.get::<_, String>(2),
                            [r.get::<_, i32>(3), r.get(4), r.get(5), r.get(6)],
                            (r.get::<_, f64>(7) * 1e3).round(),
                        )
                    })
                    .map(|x| format!("{x:?}"))
                    .collect::<Vec<_>>(),
                ops.iter()
                    .map(|r| format!("{} {} {} {} {}", r.get::<_, bool>(0), r.get::<_, String>(1), r.get::<_, String>(2), r.get::<_, String>(3), r.get::<_, i32>(4)))
                    .collect::<Vec<_>>(),
                spots.iter().map(|r| format!("{} {} {}", r.get::<_, String>(0), r.get::<_, i32>(1), r.get::<_, String>(2))).collect::<Vec<_>>(),
            )
        }
    }
}
