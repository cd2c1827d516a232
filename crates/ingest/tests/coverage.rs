//! `ingest coverage`: the regulator's format and the per-operator flags.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use funkplan_db::testing::TestDb;
use funkplan_ingest::Kind;

#[tokio::test]
async fn regulator_format_and_flags() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    let body = "id,gsm_out,lte,nr_dss,nr_nsa_sa,nr_gesamt\n100mN56400E3500,3,2,1,1,2\n100mN58735E4942,3,3,2,3,3\n";
    let s = ingest(&mut c, Kind::Coverage, &tmp_file("cov.csv", body), &opts()).await.unwrap();
    assert_eq!((s.rows, s.inserted), (2, 2));
    assert_eq!(s.detail["cells_outside_grid"], 2);
    let r = c.query_one("SELECT gsm_count, lte_count, nr_count, lte_operators FROM reported_coverage WHERE n = 56400 AND e = 3500", &[]).await.unwrap();
    assert_eq!((r.get::<_, Option<i16>>(0), r.get::<_, i16>(1), r.get::<_, i16>(2), r.get::<_, Option<i32>>(3)), (Some(3), 2, 2, None));
    let again = ingest(&mut c, Kind::Coverage, &tmp_file("cov.csv", body), &opts()).await.unwrap();
    assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 2));

    let flags = "id,telekom_lte,vodafone_lte,telekom_5g,1und1_5g\n100mN56400E3500,1,1,0,1\n";
    let s = ingest(&mut c, Kind::Coverage, &tmp_file("flags.csv", flags), &opts()).await.unwrap();
    assert_eq!(s.updated, 1);
    let r = c.query_one("SELECT lte_count, nr_count, lte_operators, nr_operators, gsm_count FROM reported_coverage WHERE n = 56400 AND e = 3500", &[]).await.unwrap();
    // telekom bit 0, vodafone bit 1, 1und1 bit 3 (seeds/operators.json).
    assert_eq!((r.get::<_, i16>(0), r.get::<_, i16>(1), r.get::<_, Option<i32>>(2), r.get::<_, Option<i32>>(3)), (2, 1, Some(0b11), Some(0b1000)));
    assert_eq!(r.get::<_, Option<i16>>(4), None);
}

#[tokio::test]
async fn bad_coverage_rows_are_all_reported() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    let body = "id,gsm_out,lte,nr_dss,nr_nsa_sa,nr_gesamt\n\
                100mN56400E3500,3,2,1,1,2\n\
                100mN5640OE3500,3,2,1,1,2\n\
                100mN56400E3500,3,2,1,1,2\n\
                100mN56401E3500,3,-1,1,1,2\n\
                100mN56402E3500,3,2,1,1,drei\n";
    let lines = must_fail(&mut c, Kind::Coverage, &tmp_file("bad-cov.csv", body), &opts()).await;
    has(&lines, &["bad-cov.csv", "line 3", "id", "100mN5640OE3500", "malformed cell id"]);
    has(&lines, &["line 4", "duplicate cell"]);
    has(&lines, &["line 5", "lte", "-1", "whole number"]);
    has(&lines, &["line 6", "nr_gesamt", "drei"]);
    let lines = must_fail(&mut c, Kind::Coverage, &tmp_file("ops.csv", "id,o2_lte,telekom_4g\n100mN1E1,1,0\n"), &opts()).await;
    has(&lines, &["ops.csv", "line 1", "o2_lte", "unknown operator"]);
    has(&lines, &["line 1", "telekom_4g", "unknown column"]);
    let lines = must_fail(&mut c, Kind::Coverage, &tmp_file("flag2.csv", "id,telekom_lte\n100mN1E1,2\n"), &opts()).await;
    has(&lines, &["flag2.csv", "line 2", "telekom_lte", "0..1"]);
}

/// A partial file (`--partial`) may cover part of the grid (one state, one
/// operator's area): each write path — bulk load into an empty table,
/// upsert of a few cells, rewrite when many change, nothing when nothing
/// changes — keeps the cells the file does not mention and writes the same
/// values.
#[tokio::test]
async fn partial_files_keep_the_other_cells_on_every_write_path() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    let file = |rows: &[(i32, i16)]| {
        let mut s = String::from("id,gsm_out,lte,nr_dss,nr_nsa_sa,nr_gesamt\n");
        for (e, lte) in rows {
            s.push_str(&format!("100mN56400E{e},3,{lte},1,1,2\n"));
        }
        s
    };
    let ten: Vec<(i32, i16)> = (3500..3510).map(|e| (e, 2)).collect();
    let s = ingest(&mut c, Kind::Coverage, &tmp_file("ten.csv", &file(&ten)), &partial()).await.unwrap();
    assert_eq!((s.inserted, s.updated, s.unchanged), (10, 0, 0));
    assert_eq!(s.detail["write"], "bulk load");
    assert_eq!(table(&c).await, ten);

    // One changed, one new: 2 of 10 rows, an upsert.
    let s = ingest(&mut c, Kind::Coverage, &tmp_file("two.csv", &file(&[(3503, 3), (3600, 1)])), &partial()).await.unwrap();
    assert_eq!((s.inserted, s.updated, s.unchanged, s.rows), (1, 1, 0, 2));
    assert_eq!(s.detail["write"], "upsert");
    let mut want = ten.clone();
    want[3].1 = 3;
    want.push((3600, 1));
    assert_eq!(table(&c).await, want);

    // Five changed, one unchanged: a rewrite of the table.
    let many = [(3500, 0), (3501, 0), (3502, 0), (3503, 3), (3504, 0), (3505, 0), (3506, 0)];
    let s = ingest(&mut c, Kind::Coverage, &tmp_file("many.csv", &file(&many)), &partial()).await.unwrap();
    assert_eq!((s.inserted, s.updated, s.unchanged), (0, 6, 1));
    assert_eq!(s.detail["write"], "rewrite");
    for (i, &(e, lte)) in many.iter().enumerate() {
        want[i] = (e, lte);
    }
    assert_eq!(table(&c).await, want);
    let pk: i64 = c
        .query_one("SELECT count(*) FROM pg_constraint WHERE conrelid = 'reported_coverage'::regclass AND contype = 'p'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(pk, 1, "the primary key is back after the rewrite");

    // The same file again: nothing written.
    let xmins = "SELECT string_agg(xmin::text, ',' ORDER BY n, e) FROM reported_coverage";
    let before: String = c.query_one(xmins, &[]).await.unwrap().get(0);
    let s = ingest(&mut c, Kind::Coverage, &tmp_file("many.csv", &file(&many)), &partial()).await.unwrap();
    assert_eq!((s.inserted, s.updated, s.unchanged), (0, 0, 7));
    assert_eq!(s.detail["write"], "no change");
    assert_eq!(table(&c).await, want);
    let after: String = c.query_one(xmins, &[]).await.unwrap().get(0);
    assert_eq!(before, after, "no row was rewritten");
}

async fn table(c: &tokio_postgres::Client) -> Vec<(i32, i16)> {
    c.query("SELECT e, lte_count FROM reported_coverage ORDER BY n, e", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<_, i32>(0), r.get::<_, i16>(1)))
        .collect()
}
