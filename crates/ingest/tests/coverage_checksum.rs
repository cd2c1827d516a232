//! The coverage ingest tells "nothing changed" from a stored checksum of
//! reported_coverage (migration V40) without reading the table back, and
//! never trusts a checksum the table has moved away from (issue 20).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use funkplan_db::testing::TestDb;
use funkplan_ingest::Kind;

fn file(lte: &[i16]) -> std::path::PathBuf {
    let mut s = String::from("id,gsm_out,lte,nr_dss,nr_nsa_sa,nr_gesamt\n");
    for (k, l) in lte.iter().enumerate() {
        s.push_str(&format!("100mN56400E{},3,{l},1,1,2\n", 3500 + k));
    }
    tmp_file("cov.csv", &s)
}

async fn lte(c: &tokio_postgres::Client) -> Vec<i16> {
    c.query("SELECT lte_count FROM reported_coverage ORDER BY n, e", &[]).await.unwrap().iter().map(|r| r.get(0)).collect()
}

async fn stored(c: &tokio_postgres::Client) -> Option<String> {
    c.query_opt("SELECT checksum FROM table_checksum WHERE table_name = 'reported_coverage'", &[]).await.unwrap().map(|r| r.get(0))
}

/// The file the table holds exactly, by SHA-256, if any.
async fn source(c: &tokio_postgres::Client) -> Option<String> {
    c.query_opt("SELECT source_sha256 FROM table_checksum WHERE table_name = 'reported_coverage'", &[]).await.unwrap().and_then(|r| r.get(0))
}

#[tokio::test]
async fn unchanged_file_is_recognised_by_checksum_and_writes_nothing() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    let a = [2i16; 10];
    let s = ingest(&mut c, Kind::Coverage, &file(&a), &opts()).await.unwrap();
    assert_eq!((s.detail["write"].as_str(), s.detail["compared"].as_str()), (Some("bulk load"), Some("rows")));
    assert!(stored(&c).await.is_some(), "the ingest recorded the table's checksum");
    assert_eq!(source(&c).await, Some(s.sha256.clone()), "the table holds exactly the file's rows");

    // All changed: a rewrite (a new table swapped in, which must carry the
    // trigger that forgets the checksum).
    let b = [3i16; 10];
    let s = ingest(&mut c, Kind::Coverage, &file(&b), &opts()).await.unwrap();
    assert_eq!(s.detail["write"], "rewrite");
    assert_eq!(lte(&c).await, b);

    // The same file again: equal checksums, no row read or written.
    let xmins = "SELECT string_agg(xmin::text, ',' ORDER BY n, e) FROM reported_coverage";
    let before: String = c.query_one(xmins, &[]).await.unwrap().get(0);
    let s = ingest(&mut c, Kind::Coverage, &file(&b), &opts()).await.unwrap();
    assert_eq!((s.detail["write"].as_str(), s.detail["compared"].as_str()), (Some("no change"), Some("checksum")));
    assert_eq!((s.inserted, s.updated, s.unchanged), (0, 0, 10));
    let after: String = c.query_one(xmins, &[]).await.unwrap().get(0);
    assert_eq!(before, after, "no row was rewritten");

    // A write by other means forgets the checksum: the next ingest of the
    // file compares rows and puts the cell back.
    c.batch_execute("UPDATE reported_coverage SET lte_count = 0 WHERE e = 3504").await.unwrap();
    assert_eq!(stored(&c).await, None, "the write forgot the checksum");
    let s = ingest(&mut c, Kind::Coverage, &file(&b), &opts()).await.unwrap();
    assert_eq!((s.detail["write"].as_str(), s.detail["compared"].as_str()), (Some("upsert"), Some("rows")));
    assert_eq!((s.inserted, s.updated, s.unchanged), (0, 1, 9));
    assert_eq!(lte(&c).await, b);
    let s = ingest(&mut c, Kind::Coverage, &file(&b), &opts()).await.unwrap();
    assert_eq!(s.detail["compared"], "checksum");

    // A partial file covering part of the table: merged into the release,
    // rows are compared, and nothing is written; the table still holds
    // exactly file b.
    let b_sha = source(&c).await;
    let s = ingest(&mut c, Kind::Coverage, &file(&b[..4]), &partial()).await.unwrap();
    assert_eq!((s.detail["write"].as_str(), s.detail["compared"].as_str()), (Some("no change"), Some("rows")));
    assert_eq!(source(&c).await, b_sha, "the table is still exactly file b");
    // ... and the checksum still describes the whole table.
    let s = ingest(&mut c, Kind::Coverage, &file(&b), &opts()).await.unwrap();
    assert_eq!(s.detail["compared"], "checksum");

    // A dry run that would change a cell changes neither table nor checksum.
    let sum = stored(&c).await;
    let mut changed = b;
    changed[0] = 1;
    let dry = funkplan_ingest::Options { dry_run: true, ..opts() };
    let s = ingest(&mut c, Kind::Coverage, &file(&changed), &dry).await.unwrap();
    assert_eq!(s.updated, 1);
    assert_eq!((stored(&c).await, lte(&c).await), (sum, b.to_vec()));
}
