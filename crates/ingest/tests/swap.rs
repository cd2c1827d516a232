//! Whole-table replacements (households, coverage rewrite, the municipality
//! grid) load into a new table and swap it in (issue 20): readers are not
//! queued behind the load, what hangs on the table survives the swap, and a
//! failure leaves the old table and nothing else.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use funkplan_db::testing::TestDb;
use funkplan_ingest::crs::{Crs, Transformer};
use funkplan_ingest::{Kind, Summary};

/// A households file with one 100 m census cell inside the first square
/// holding `households`.
fn households_file(households: u32) -> std::path::PathBuf {
    let t = Transformer::new(Crs::UTM32, Crs::LAEA).unwrap();
    let (x, y) = t.transform(3505.0 * 100.0 + 50.0, 56405.0 * 100.0 + 50.0).unwrap();
    let (n, e) = ((y / 100.0).floor() as i64 * 100, (x / 100.0).floor() as i64 * 100);
    tmp_file("hh.csv", &format!("GITTER_ID_100m,households\nCRS3035RES100mN{n}E{e},{households}\n"))
}

/// A regulator coverage file: ten cells with the given LTE count.
fn coverage_file(lte: i16) -> std::path::PathBuf {
    let mut s = String::from("id,gsm_out,lte,nr_dss,nr_nsa_sa,nr_gesamt\n");
    for e in 3500..3510 {
        s.push_str(&format!("100mN56400E{e},3,{lte},1,1,2\n"));
    }
    tmp_file("cov.csv", &s)
}

async fn oid(c: &tokio_postgres::Client, table: &str) -> u32 {
    c.query_one("SELECT $1::text::regclass::oid", &[&table]).await.unwrap().get(0)
}

async fn shadows(c: &tokio_postgres::Client) -> Vec<String> {
    c.query("SELECT relname::text FROM pg_class WHERE relname LIKE '%ingest_new%'", &[]).await.unwrap().iter().map(|r| r.get(0)).collect()
}

/// Start `kind` of `file` while another session reads `table` in an open
/// transaction (an engine load, a slow API query); once the ingest waits for
/// a lock on `table`, a new reader with `lock_timeout = 2s` must get
/// through and see the old rows. Behind a `TRUNCATE` it waits until the
/// first reader ends: here, forever, so it times out. Returns the ingest's
/// summary once the first reader has ended.
async fn reader_gets_through(db: &TestDb, table: &str, kind: Kind, file: std::path::PathBuf) -> Summary {
    let holder = db.client().await;
    holder.batch_execute(&format!("BEGIN; SELECT count(*) FROM {table}")).await.unwrap();
    let watch = db.client().await;
    let before: i64 = watch.query_one(&format!("SELECT count(*) FROM {table}"), &[]).await.unwrap().get(0);
    let mut ic = db.client().await;
    let pid: i32 = ic.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    let task = tokio::spawn(async move { ingest(&mut ic, kind, &file, &opts()).await });
    // Until the ingest asks for a lock on the table that it cannot have.
    let waits = "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = $1 AND relation = $2::text::regclass AND NOT granted)";
    let started = Instant::now();
    while !watch.query_one(waits, &[&pid, &table]).await.unwrap().get::<_, bool>(0) {
        assert!(!task.is_finished(), "the ingest ended without waiting for the reader: {:?}", task.await.unwrap().map(|s| s.detail));
        assert!(started.elapsed() < Duration::from_secs(60), "the ingest never waited for a lock on {table}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // Meanwhile it holds nothing on the table that keeps readers out.
    let strong: Vec<String> = watch
        .query("SELECT mode FROM pg_locks WHERE pid = $1 AND relation = $2::text::regclass AND granted AND mode IN ('ExclusiveLock', 'AccessExclusiveLock')", &[&pid, &table])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(strong.is_empty(), "the ingest holds {strong:?} on {table} before the swap");
    let reader = db.client().await;
    reader.batch_execute("SET lock_timeout = '2s'").await.unwrap();
    let t = Instant::now();
    let seen: i64 = reader
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .unwrap_or_else(|e| panic!("a reader of {table} waited 2 s for the ingest: {e}"))
        .get(0);
    assert_eq!(seen, before, "the reader sees the table as it was");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    holder.batch_execute("COMMIT").await.unwrap();
    tokio::time::timeout(Duration::from_secs(60), task).await.expect("the ingest finishes once the first reader is gone").unwrap().unwrap()
}

#[tokio::test]
async fn households_ingest_does_not_queue_readers() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    ingest(&mut c, Kind::Municipalities, &tmp_file("m.geojson", &two_squares()), &opts()).await.unwrap();
    ingest(&mut c, Kind::Households, &households_file(10), &opts()).await.unwrap();
    let s = reader_gets_through(&db, "household_cell", Kind::Households, households_file(20)).await;
    assert_eq!(s.detail["replaced"], "new table swapped in");
    let h: f32 = c.query_one("SELECT households FROM household_cell WHERE n = 56405 AND e = 3505", &[]).await.unwrap().get(0);
    assert_eq!(h, 20.0);
}

#[tokio::test]
async fn coverage_rewrite_does_not_queue_readers() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    ingest(&mut c, Kind::Coverage, &coverage_file(1), &opts()).await.unwrap();
    let s = reader_gets_through(&db, "reported_coverage", Kind::Coverage, coverage_file(2)).await;
    assert_eq!((s.detail["write"].as_str(), s.detail["replaced"].as_str()), (Some("rewrite"), Some("new table swapped in")));
    let lte: Vec<i16> = c.query("SELECT lte_count FROM reported_coverage", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(lte, vec![2; 10]);
}

/// The only release replaced whole: the versions are written as a new
/// table too (issue 16's ingest speed), and their readers (the engine's
/// dated figures) get through while it loads.
#[tokio::test]
async fn only_release_rewrite_does_not_queue_version_readers() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    ingest(&mut c, Kind::Coverage, &coverage_file(1), &opts()).await.unwrap();
    let before = oid(&c, "reported_coverage_version").await;
    let s = reader_gets_through(&db, "reported_coverage_version", Kind::Coverage, coverage_file(2)).await;
    assert_eq!(s.detail["versions_write"], "rewrite");
    assert_ne!(oid(&c, "reported_coverage_version").await, before, "a new table was swapped in");
    let rows: Vec<(i16, Option<chrono::NaiveDate>)> = c
        .query("SELECT lte_count, valid_to FROM reported_coverage_version ORDER BY n, e", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(rows, vec![(2, None); 10], "one open version per cell, with the new values");
    assert!(shadows(&c).await.is_empty());
}

#[tokio::test]
async fn grid_rebuild_does_not_queue_readers() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    ingest(&mut c, Kind::Municipalities, &tmp_file("m.geojson", &two_squares()), &opts()).await.unwrap();
    reader_gets_through(&db, "grid_cell", Kind::Municipalities, tmp_file("m.geojson", &two_squares())).await;
    let n: i64 = c.query_one("SELECT count(*) FROM grid_cell", &[]).await.unwrap().get(0);
    assert_eq!(n, 200);
}

/// What is bound to the table rather than its name is carried over to the
/// new table: the API's change-notification trigger (V30/V31: it fires for
/// the ingest and for later writes), grants, comment, storage parameters,
/// the index and constraint names.
#[tokio::test]
async fn the_new_table_keeps_triggers_grants_and_names() {
    use futures_util::StreamExt;
    let db = TestDb::new().await;
    let mut c = db.client().await;
    ingest(&mut c, Kind::Municipalities, &tmp_file("m.geojson", &two_squares()), &opts()).await.unwrap();
    ingest(&mut c, Kind::Households, &households_file(10), &opts()).await.unwrap();
    let role = format!("funkplan_swap_test_{}", std::process::id());
    c.batch_execute(&format!(
        "CREATE ROLE {role}; GRANT SELECT ON household_cell TO {role}; COMMENT ON TABLE household_cell IS 'households per cell';
         ALTER TABLE household_cell SET (fillfactor = 90)"
    ))
    .await
    .unwrap();
    let (listener, mut conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls).await.unwrap();
    let (tx, mut notes) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
        while let Some(Ok(m)) = messages.next().await {
            if let tokio_postgres::AsyncMessage::Notification(n) = m {
                let _ = tx.send(n.channel().to_owned());
            }
        }
    });
    listener.batch_execute("LISTEN funkplan_change").await.unwrap();
    let old = oid(&c, "household_cell").await;

    let s = ingest(&mut c, Kind::Households, &households_file(20), &opts()).await.unwrap();
    assert_eq!(s.detail["replaced"], "new table swapped in");
    assert_ne!(oid(&c, "household_cell").await, old, "a new table");
    let note = tokio::time::timeout(Duration::from_secs(10), notes.recv()).await.expect("the ingest notified the API");
    assert_eq!(note.as_deref(), Some("funkplan_change"));
    // A later write to the new table notifies too: the trigger is on it.
    c.batch_execute("UPDATE household_cell SET households = households WHERE n = 56405").await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), notes.recv()).await.expect("a write after the swap notified the API");

    let r = c
        .query_one(
            &format!(
                "SELECT has_table_privilege('{role}', 'household_cell', 'SELECT'), obj_description('household_cell'::regclass, 'pg_class'),
                        (SELECT reloptions FROM pg_class WHERE oid = 'household_cell'::regclass),
                        (SELECT array_agg(tgname::text ORDER BY tgname) FROM pg_trigger WHERE tgrelid = 'household_cell'::regclass AND NOT tgisinternal),
                        (SELECT array_agg(relname::text ORDER BY relname) FROM pg_index JOIN pg_class ON oid = indexrelid WHERE indrelid = 'household_cell'::regclass),
                        (SELECT array_agg(conname::text ORDER BY conname) FROM pg_constraint WHERE conrelid = 'household_cell'::regclass),
                        (SELECT tgenabled::text FROM pg_trigger WHERE tgrelid = 'household_cell'::regclass AND tgname = 'grid_generation_bump')"
            ),
            &[],
        )
        .await
        .unwrap();
    assert!(r.get::<_, bool>(0), "the grant survived");
    assert_eq!(r.get::<_, Option<String>>(1).as_deref(), Some("households per cell"));
    assert_eq!(r.get::<_, Vec<String>>(2), vec!["fillfactor=90"]);
    assert_eq!(r.get::<_, Vec<String>>(3), vec!["grid_generation_bump", "household_cell_api_notify"]);
    // Enabled as before (ALWAYS): the grid snapshot keeps trusting the table (issue 24).
    assert_eq!(r.get::<_, Option<String>>(6).as_deref(), Some("A"), "the generation trigger stays ENABLE ALWAYS");
    assert_eq!(r.get::<_, Vec<String>>(4), vec!["household_cell_pkey"]);
    let mut constraints = r.get::<_, Vec<String>>(5);
    constraints.retain(|n| !n.ends_with("_not_null"));
    assert_eq!(constraints, vec!["household_cell_households_check", "household_cell_pkey", "household_cell_population_check"]);
    assert!(shadows(&c).await.is_empty());
    c.batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE {role}")).await.unwrap();
}

/// A failure while loading the new table (here a trigger refusing a row)
/// or at the swap (readers holding the table past `funkplan.swap_wait_ms`)
/// changes nothing: the old table stays, with its rows, and no new table
/// or provenance row is left behind.
#[tokio::test]
async fn a_failed_replacement_leaves_the_old_table() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    ingest(&mut c, Kind::Municipalities, &tmp_file("m.geojson", &two_squares()), &opts()).await.unwrap();
    ingest(&mut c, Kind::Households, &households_file(10), &opts()).await.unwrap();
    c.batch_execute(
        "CREATE FUNCTION refuse_42() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN IF NEW.households = 42 THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$;
         CREATE TRIGGER refuse_42 BEFORE INSERT ON household_cell FOR EACH ROW EXECUTE FUNCTION refuse_42()",
    )
    .await
    .unwrap();
    let old = oid(&c, "household_cell").await;
    let before = checksum(&c).await;

    let err = ingest(&mut c, Kind::Households, &households_file(42), &opts()).await.unwrap_err();
    assert!(err.to_string().contains("refused by the test"), "{err}");
    assert_eq!(checksum(&c).await, before);
    assert_eq!(oid(&c, "household_cell").await, old);
    assert!(shadows(&c).await.is_empty(), "{:?}", shadows(&c).await);

    // The swap cannot have the table within the session's budget.
    let holder = db.client().await;
    holder.batch_execute("BEGIN; SELECT count(*) FROM household_cell").await.unwrap();
    c.batch_execute("SET funkplan.swap_wait_ms = 300").await.unwrap();
    let t = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(30), ingest(&mut c, Kind::Households, &households_file(20), &opts()))
        .await
        .expect("the ingest gave up instead of waiting for the reader")
        .unwrap_err();
    assert!(err.to_string().contains("could not swap in the new table"), "{err}");
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    holder.batch_execute("COMMIT").await.unwrap();
    assert_eq!(checksum(&c).await, before);
    assert_eq!(oid(&c, "household_cell").await, old);
    assert!(shadows(&c).await.is_empty(), "{:?}", shadows(&c).await);
}

/// A table a swap would break (here: a view reads it) is replaced in place,
/// as before; the view keeps working.
#[tokio::test]
async fn a_table_with_a_view_is_replaced_in_place() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    ingest(&mut c, Kind::Municipalities, &tmp_file("m.geojson", &two_squares()), &opts()).await.unwrap();
    ingest(&mut c, Kind::Households, &households_file(10), &opts()).await.unwrap();
    c.batch_execute("CREATE VIEW hh_total AS SELECT sum(households) AS total FROM household_cell").await.unwrap();
    let old = oid(&c, "household_cell").await;
    let s = ingest(&mut c, Kind::Households, &households_file(20), &opts()).await.unwrap();
    assert_eq!(s.detail["replaced"], "in place");
    assert_eq!(oid(&c, "household_cell").await, old);
    let total: f32 = c.query_one("SELECT total FROM hh_total", &[]).await.unwrap().get(0);
    assert_eq!(total, 20.0);
    assert!(shadows(&c).await.is_empty());
}
