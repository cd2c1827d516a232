//! The grid snapshot (issue 24) against the database: a start from a valid
//! snapshot gives exactly the grid and figures of a load from PostgreSQL;
//! any change to a table the grid is read from (one cell, one household,
//! one reported value, a release, a municipality) makes the next start read
//! the database; a corrupt file is ignored and rewritten; a file of another
//! database is not used; a table swapped in without the generation trigger,
//! or a trigger disabled, stops snapshots. And a state's figures are the
//! same loaded alone (`--state`) as part of a grid of several states.

#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

mod common;

use std::path::Path;

use funkplan_coverage::grid::Grid;
use funkplan_coverage::load::{grid_with, AgsPrefix, GridOptions};
use funkplan_coverage::snapshot::GridFrom;
use funkplan_coverage::{CoverageSource, Live};
use funkplan_db::testing::TestDb;
use funkplan_db::Db;

fn opts(dir: &Path, scope: &str) -> GridOptions {
    GridOptions { scope: scope.parse::<AgsPrefix>().unwrap(), snapshot_dir: Some(dir.to_owned()) }
}

/// Every part of two grids equal (the releases by the figures they give).
fn same(a: &Grid, b: &Grid, what: &str) {
    assert_eq!((a.n0, a.e0, a.rows, a.cols, a.cells), (b.n0, b.e0, b.rows, b.cols, b.cells), "{what}: dimensions");
    assert_eq!(a.ags, b.ags, "{what}: municipalities");
    assert_eq!(a.muni, b.muni, "{what}: municipality per slot");
    assert_eq!(a.households.iter().map(|h| h.to_bits()).collect::<Vec<_>>(), b.households.iter().map(|h| h.to_bits()).collect::<Vec<_>>(), "{what}: households");
    assert_eq!(a.muni_box, b.muni_box, "{what}: boxes");
    assert_eq!(a.row_spans, b.row_spans, "{what}: row spans");
    assert_eq!(a.scope, b.scope, "{what}: scope");
    for t in 0..2 {
        assert_eq!(a.reported[t].count, b.reported[t].count, "{what}: reported counts");
        assert_eq!(a.reported[t].mask, b.reported[t].mask, "{what}: reported masks");
    }
    assert_eq!(a.releases.dates(), b.releases.dates(), "{what}: release dates");
    assert_eq!(a.releases.steps(), b.releases.steps(), "{what}: release steps");
    for i in 0..a.releases.dates().len().saturating_sub(1) {
        assert_eq!(a.releases.back_steps(i), b.releases.back_steps(i), "{what}: release {i}'s steps");
    }
}

async fn load(db: &Db, o: &GridOptions) -> (Grid, GridFrom) {
    grid_with(db, o).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_snapshot_gives_the_database_grid_and_any_change_reads_the_database() {
    let t = TestDb::new().await;
    let db = t.db().await;
    let c = t.client().await;
    common::fixture(&c, 11, true).await;
    common::releases(&c).await;
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path(), "05");

    let (fresh, from) = load(&db, &o).await;
    assert_eq!(from, GridFrom::Database, "first start");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "one snapshot file written");
    let (snap, from) = load(&db, &o).await;
    assert_eq!(from, GridFrom::Snapshot, "second start, nothing changed");
    same(&fresh, &snap, "snapshot");
    let (plain, from) = load(&db, &GridOptions::default()).await;
    assert_eq!(from, GridFrom::Database);
    same(&plain, &snap, "snapshot against a load without snapshots");
    assert!(snap.releases.steps() > 0 && snap.has_reported(), "the fixture has releases and reported coverage");

    // The engine's figures from either grid: identical, bit for bit.
    let a = Live::load_with(&db, Some(CoverageSource::Union), &o).await.unwrap();
    assert_eq!(a.grid_from().await, GridFrom::Snapshot);
    let b = Live::load(&db, Some(CoverageSource::Union)).await.unwrap();
    let (ca, cb) = (a.compute().await, b.compute().await);
    assert_eq!(ca.actual, cb.actual);
    assert_eq!(ca.scenario, cb.scenario);
    assert_eq!(ca.dead_spots.len(), cb.dead_spots.len());
    let date = chrono::NaiveDate::from_ymd_opt(2021, 6, 1).unwrap();
    assert_eq!(a.compute_figures_at(date, CoverageSource::Union).await.figures, b.compute_figures_at(date, CoverageSource::Union).await.figures);

    // A change that is no grid change (a municipality's name): still valid.
    c.batch_execute("UPDATE municipality SET name = 'umbenannt' WHERE ags = '05000001'").await.unwrap();
    assert_eq!(load(&db, &o).await.1, GridFrom::Snapshot, "a renamed municipality changes no grid");

    // Each change of one row of a grid table: the next start reads the
    // database and sees the change; the start after that, the new snapshot.
    let one = "(SELECT n, e FROM grid_cell WHERE ags = '05000002' ORDER BY n, e LIMIT 1)";
    let changes = [
        ("one household", format!("UPDATE household_cell SET households = households + 7 WHERE (n, e) = {one}")),
        ("one grid cell", format!("UPDATE grid_cell SET ags = '05000001' WHERE (n, e) = {one}")),
        ("one reported cell", "UPDATE reported_coverage SET lte_count = lte_count + 1 WHERE (n, e) = (SELECT n, e FROM reported_coverage ORDER BY n, e LIMIT 1)".to_owned()),
        ("one release version", "UPDATE reported_coverage_version SET nr_count = nr_count + 1 WHERE (n, e, valid_from) = (SELECT n, e, valid_from FROM reported_coverage_version WHERE valid_to IS NOT NULL ORDER BY 1, 2, 3 LIMIT 1)".to_owned()),
        ("one release", "UPDATE coverage_release SET checksum = 'x' || checksum WHERE as_of = (SELECT max(as_of) FROM coverage_release)".to_owned()),
        ("one municipality", "INSERT INTO municipality (ags, name, geom) VALUES ('05000010', 'neu', ST_Multi(ST_MakeEnvelope(0, 0, 10, 10, 25832)))".to_owned()),
        ("a truncated table", "TRUNCATE reported_coverage_version".to_owned()),
    ];
    let mut before = snap;
    for (what, sql) in &changes {
        c.batch_execute(sql).await.unwrap();
        let (g, from) = load(&db, &o).await;
        assert_eq!(from, GridFrom::Database, "after {what}");
        let (again, from) = load(&db, &o).await;
        assert_eq!(from, GridFrom::Snapshot, "after {what}, the second start");
        same(&g, &again, what);
        before = g;
    }
    let _ = before;

    // A corrupt (truncated) file: ignored, the database read, the file rewritten.
    let file = std::fs::read_dir(dir.path()).unwrap().next().unwrap().unwrap().path();
    let len = std::fs::metadata(&file).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
    f.set_len(len / 2).unwrap();
    drop(f);
    assert_eq!(load(&db, &o).await.1, GridFrom::Database, "a truncated snapshot is not used");
    assert_eq!(std::fs::metadata(&file).unwrap().len(), len, "and is written again");
    assert_eq!(load(&db, &o).await.1, GridFrom::Snapshot);
    // A flipped byte in the body: the checksum says so.
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.len() - 100;
    bytes[at] ^= 0x10;
    std::fs::write(&file, &bytes).unwrap();
    assert_eq!(load(&db, &o).await.1, GridFrom::Database, "a snapshot with a bad checksum is not used");

    // Another database with the same data: its own key (database OID and
    // name), so this database's file, put where it would look, is not used.
    let t2 = TestDb::new().await;
    let db2 = t2.db().await;
    let c2 = t2.client().await;
    common::fixture(&c2, 11, true).await;
    let (_, from) = load(&db2, &o).await;
    assert_eq!(from, GridFrom::Database);
    let file2 = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).find(|p| *p != file).expect("the second database's file");
    std::fs::copy(&file, &file2).unwrap();
    assert_eq!(load(&db2, &o).await.1, GridFrom::Database, "a snapshot of another database is not used");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untracked_changes_stop_snapshots() {
    let t = TestDb::new().await;
    let db = t.db().await;
    let c = t.client().await;
    common::fixture(&c, 12, true).await;
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path(), "05");
    assert_eq!(load(&db, &o).await.1, GridFrom::Database);
    assert_eq!(load(&db, &o).await.1, GridFrom::Snapshot);

    // The trigger disabled, a cell changed, the trigger enabled again.
    c.batch_execute(
        "ALTER TABLE household_cell DISABLE TRIGGER grid_generation_bump;
         UPDATE household_cell SET households = households + 5 WHERE (n, e) = (SELECT n, e FROM household_cell ORDER BY n, e LIMIT 1);",
    )
    .await
    .unwrap();
    let (g, from) = load(&db, &o).await;
    assert_eq!(from, GridFrom::Database, "trigger disabled");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "the snapshot is removed while changes are not counted");
    c.batch_execute("ALTER TABLE household_cell ENABLE ALWAYS TRIGGER grid_generation_bump").await.unwrap();
    let (g2, from) = load(&db, &o).await;
    assert_eq!(from, GridFrom::Database, "re-enabled: a new snapshot is built first");
    same(&g, &g2, "after re-enabling");
    assert_eq!(load(&db, &o).await.1, GridFrom::Snapshot);

    // A table swapped in by hand, without the trigger: a new OID and no
    // trigger, so the database is read and no snapshot kept.
    c.batch_execute(
        "CREATE TABLE household_cell_new (LIKE household_cell INCLUDING ALL);
         INSERT INTO household_cell_new SELECT n, e, households * 2, population FROM household_cell;
         DROP TABLE household_cell; ALTER TABLE household_cell_new RENAME TO household_cell;",
    )
    .await
    .unwrap();
    let (g3, from) = load(&db, &o).await;
    assert_eq!(from, GridFrom::Database, "a table without the trigger");
    assert!(g3.households.iter().sum::<f32>() > 1.9 * g2.households.iter().sum::<f32>(), "the new table's rows are read");
    assert_eq!(load(&db, &o).await.1, GridFrom::Database, "still no snapshot without the trigger");
}

/// Figures of one municipality from two engines: counts equal, households
/// equal up to the order of summation.
fn assert_close(a: &funkplan_coverage::engine::TechFigures, b: &funkplan_coverage::engine::TechFigures, what: &str) {
    assert_eq!((a.cells, a.cells_covered, a.dead_cells, a.grey_cells), (b.cells, b.cells_covered, b.dead_cells, b.grey_cells), "{what}");
    for (x, y) in [(a.households, b.households), (a.households_covered, b.households_covered)] {
        assert!((x - y).abs() <= 1e-6 * x.abs().max(1.0), "{what}: {x} against {y}");
    }
}

/// Issue 24, item 3: a state's figures computed alone equal its figures as
/// part of a grid of several states, sites near the border included (a
/// second state east of the fixture's, densely settled, with sites on both
/// sides of the border).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_states_figures_alone_equal_its_figures_among_other_states() {
    let t = TestDb::new().await;
    let db = t.db().await;
    let c = t.client().await;
    common::fixture(&c, 13, true).await;
    // State 06: 40 × 30 cells east of the fixture, thickly settled, so the
    // sites near the border are urban only by its households.
    let (x0, y0) = (f64::from(common::E0 + common::SIDE) * 100.0, f64::from(common::N0) * 100.0);
    c.execute(
        "INSERT INTO municipality (ags, name, geom) VALUES ('06000001', 'Nachbar', ST_Multi(ST_MakeEnvelope($1::float8, $2::float8, $1::float8 + 3000, $2::float8 + 4000, 25832)))",
        &[&x0, &y0],
    )
    .await
    .unwrap();
    c.batch_execute(&format!(
        "INSERT INTO grid_cell (n, e, ags) SELECT n, e, '06000001' FROM generate_series({n0}, {n1}) n, generate_series({e0}, {e1}) e;
         INSERT INTO household_cell (n, e, households) SELECT n, e, 40 FROM generate_series({n0}, {n1}) n, generate_series({e0}, {e1}) e;
         INSERT INTO reported_coverage (n, e, lte_count, nr_count) SELECT n, e, 1, 0 FROM generate_series({n0}, {n1}) n, generate_series({e0}, {e1}) e;
         INSERT INTO site (site_id, operator_id, geom, status, technologies)
         SELECT 'B-' || k, 'telekom', ST_Point({x0} + 150 + k * 40, {y} + k * 700, 25832), 'on_air', '{{lte,5g}}' FROM generate_series(-3, 4) k;",
        n0 = common::N0,
        n1 = common::N0 + common::SIDE - 1,
        e0 = common::E0 + common::SIDE,
        e1 = common::E0 + common::SIDE + 29,
        y = y0 + 200.0,
    ))
    .await
    .unwrap();
    let none = GridOptions::default;
    let date = chrono::Utc::now().date_naive();
    let figures = |live: Live| async move { live.compute_figures_at(date, CoverageSource::Modelled).await };

    let all = figures(Live::load_with(&db, Some(CoverageSource::Modelled), &none()).await.unwrap()).await;
    let nrw_opts = GridOptions { scope: "05".parse().unwrap(), snapshot_dir: None };
    let nrw = figures(Live::load_with(&db, Some(CoverageSource::Modelled), &nrw_opts).await.unwrap()).await;
    assert_eq!(nrw.ags, ["05000001", "05000002", "05000003", "05000009"], "only the state's municipalities");
    assert!(all.ags.contains(&"06000001".to_owned()));
    for ags in &nrw.ags {
        let (a, b) = (all.get(ags), nrw.get(ags));
        assert_eq!(a.is_some(), b.is_some(), "{ags}");
        if let (Some(a), Some(b)) = (a, b) {
            assert_close(&a[0], &b[0], &format!("{ags} LTE"));
            assert_close(&a[1], &b[1], &format!("{ags} 5G"));
        }
    }
    let other = figures(Live::load_with(&db, Some(CoverageSource::Modelled), &GridOptions { scope: "06".parse().unwrap(), snapshot_dir: None }).await.unwrap()).await;
    assert_eq!(other.ags, ["06000001"]);
    // A state the database does not hold: said, not an empty grid.
    let e = grid_with(&db, &GridOptions { scope: "09".parse().unwrap(), snapshot_dir: None }).await.unwrap_err().to_string();
    assert!(e.contains("state 09: no municipality with an AGS from 09000000 to 09999999"), "{e}");
    assert!("0x".parse::<AgsPrefix>().is_err() && "123456789".parse::<AgsPrefix>().is_err());
    assert_eq!("all".parse::<AgsPrefix>().unwrap(), AgsPrefix::all());
    assert_close(&all.get("06000001").unwrap()[0], &other.get("06000001").unwrap()[0], "06000001 LTE");
    assert_close(&all.get("06000001").unwrap()[1], &other.get("06000001").unwrap()[1], "06000001 5G");

    // The fixture is one where the neighbours matter: without state 06's
    // cells (no context), the border municipality's figures differ.
    c.batch_execute("DELETE FROM grid_cell WHERE ags = '06000001'").await.unwrap();
    let alone = figures(Live::load_with(&db, Some(CoverageSource::Modelled), &nrw_opts).await.unwrap()).await;
    assert_ne!(
        alone.get("05000003").unwrap()[0].cells_covered,
        nrw.get("05000003").unwrap()[0].cells_covered,
        "the border sites' class depends on the neighbouring state's households"
    );
}
