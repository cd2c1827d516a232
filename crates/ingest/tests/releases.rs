//! Coverage releases (issue 16): dated releases kept as per-cell versions,
//! inserted in any order, replaced, merged from partial files and dropped,
//! with reported_coverage always the latest release; bad input refused with
//! nothing changed.
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation, clippy::cast_possible_wrap, clippy::cast_sign_loss)]

mod common;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use common::*;
use funkplan_db::testing::TestDb;
use funkplan_ingest::release::{self, DropOptions};
use funkplan_ingest::{Error, Options};

type Cells = BTreeMap<i32, i16>;

fn d(y: i32, m: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, 1).unwrap()
}

/// A regulator-format file named `name` with cells 100mN56400E{e}, lte as given.
fn cov(name: &str, cells: &Cells) -> std::path::PathBuf {
    let mut s = String::from("id,gsm_out,lte,nr_dss,nr_nsa_sa,nr_gesamt\n");
    for (e, lte) in cells {
        s.push_str(&format!("100mN56400E{e},3,{lte},1,1,2\n"));
    }
    tmp_file(name, &s)
}

fn at(date: NaiveDate) -> Options {
    Options { as_of: Some(date), ..opts() }
}

async fn put(c: &mut tokio_postgres::Client, date: NaiveDate, cells: &Cells, partial: bool) -> funkplan_ingest::Summary {
    let o = Options { partial, ..at(date) };
    let mut s = release::ingest_files(c, &[cov("cov.csv", cells)], &o).await.unwrap();
    assert_eq!(s.len(), 1);
    s.remove(0)
}

async fn in_force(c: &tokio_postgres::Client, date: NaiveDate) -> Cells {
    c.query(
        "SELECT e, lte_count FROM reported_coverage_version WHERE valid_from <= $1 AND (valid_to IS NULL OR valid_to > $1) ORDER BY n, e",
        &[&date],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

async fn table(c: &tokio_postgres::Client) -> Cells {
    c.query("SELECT e, lte_count FROM reported_coverage ORDER BY n, e", &[]).await.unwrap().iter().map(|r| (r.get(0), r.get(1))).collect()
}

async fn dates(c: &tokio_postgres::Client) -> Vec<NaiveDate> {
    c.query("SELECT as_of FROM coverage_release ORDER BY as_of", &[]).await.unwrap().iter().map(|r| r.get(0)).collect()
}

/// Everything a release command may change.
async fn state(c: &tokio_postgres::Client) -> String {
    let mut parts = vec![checksum(c).await];
    for t in ["coverage_release", "reported_coverage_version", "table_checksum"] {
        let sql = format!("SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), 'empty') FROM {t} t");
        parts.push(c.query_one(&sql, &[]).await.unwrap().get(0));
    }
    parts.join(",")
}

/// The database against the model: every release's cells in force at its
/// date, reported_coverage the latest's, and no cell with two versions in
/// force at once.
async fn check(c: &tokio_postgres::Client, model: &BTreeMap<NaiveDate, Cells>, step: &str) {
    assert_eq!(dates(c).await, model.keys().copied().collect::<Vec<_>>(), "{step}: release dates");
    for (date, cells) in model {
        assert_eq!(&in_force(c, *date).await, cells, "{step}: cells in force at {date}");
        let n: i64 = c.query_one("SELECT cells FROM coverage_release WHERE as_of = $1", &[date]).await.unwrap().get(0);
        assert_eq!(n, cells.len() as i64, "{step}: cell count of {date}");
    }
    let latest = model.values().next_back().cloned().unwrap_or_default();
    assert_eq!(table(c).await, latest, "{step}: reported_coverage is the latest release");
    let overlaps: i64 = c
        .query_one(
            "SELECT count(*) FROM reported_coverage_version a JOIN reported_coverage_version b USING (n, e)
             WHERE a.valid_from < b.valid_from AND (a.valid_to IS NULL OR a.valid_to > b.valid_from)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(overlaps, 0, "{step}: overlapping versions");
    // No foreign keys (migration V70): every date a version names is a release's.
    let stray: i64 = c
        .query_one(
            "SELECT count(*) FROM reported_coverage_version v
             WHERE NOT EXISTS (SELECT 1 FROM coverage_release r WHERE r.as_of = v.valid_from)
                OR (v.valid_to IS NOT NULL AND NOT EXISTS (SELECT 1 FROM coverage_release r WHERE r.as_of = v.valid_to))",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stray, 0, "{step}: versions naming a date without a release");
}

/// A small deterministic generator (xorshift), so a failure replays.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Random releases inserted out of order, replaced, merged from partial
/// files and dropped, against a model of what each release holds.
#[tokio::test]
async fn versions_match_a_model_of_the_releases_under_any_order() {
    for seed in [0x9e37_79b9_7f4a_7c15, 0x0123_4567_89ab_cdef, 0x5eed_f00d_dead_beef] {
        model_run(seed).await;
    }
}

async fn model_run(seed: u64) {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    c.batch_execute("DELETE FROM target").await.unwrap(); // dropping the last release is allowed then
    let pool: Vec<NaiveDate> = (0..6).map(|k| d(2020 + k / 4, 1 + 3 * (k as u32 % 4))).collect();
    let mut rng = Rng(seed);
    let mut model: BTreeMap<NaiveDate, Cells> = BTreeMap::new();
    let cells = |rng: &mut Rng, share: u64| -> Cells {
        let mut out = Cells::new();
        for e in 3500..3530 {
            let (keep, lte) = (rng.below(100) < share, rng.below(3) as i16);
            if keep {
                out.insert(e, lte);
            }
        }
        out
    };
    for step in 0..40 {
        let date = pool[rng.below(pool.len() as u64) as usize];
        match rng.below(10) {
            0..=4 => {
                let new = cells(&mut rng, 70);
                put(&mut c, date, &new, false).await;
                model.insert(date, new);
            }
            5..=7 => {
                let over = cells(&mut rng, 20);
                put(&mut c, date, &over, true).await;
                // Merged into the release of the date, or a copy of the one in force then.
                let mut base = model.range(..=date).next_back().map(|(_, v)| v.clone()).unwrap_or_default();
                base.extend(over);
                model.insert(date, base);
            }
            _ => {
                if model.remove(&date).is_some() {
                    release::drop_release(&mut c, date, DropOptions::default()).await.unwrap();
                } else {
                    continue;
                }
            }
        }
        check(&c, &model, &format!("seed {seed:x} step {step} at {date}")).await;
    }
    assert!(model.len() >= 3, "the sequence kept several releases: {:?}", model.keys());
}

#[tokio::test]
async fn same_file_again_is_a_no_op_and_other_content_replaces_the_release() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    let a: Cells = (3500..3510).map(|e| (e, 2)).collect();
    let s = put(&mut c, d(2024, 1), &a, false).await;
    assert_eq!(s.detail["action"], "inserted");
    let before = state(&c).await;
    let s = put(&mut c, d(2024, 1), &a, false).await;
    assert_eq!((s.detail["action"].as_str(), s.detail["write"].as_str()), (Some("unchanged"), Some("no change")));
    assert!(s.paragraph().contains("unchanged"), "{}", s.paragraph());
    // Only the provenance row of the no-op was added.
    c.batch_execute("DELETE FROM ingest_run WHERE id = (SELECT max(id) FROM ingest_run)").await.unwrap();
    assert_eq!(state(&c).await, before);

    // Other content for the date: the release replaced whole, the run says so.
    let b: Cells = (3505..3515).map(|e| (e, 1)).collect();
    let s = put(&mut c, d(2024, 1), &b, false).await;
    assert_eq!(s.detail["action"], "replaced");
    assert_eq!((s.detail["cells_new"].as_u64(), s.detail["cells_changed"].as_u64(), s.detail["cells_removed"].as_u64()), (Some(5), Some(5), Some(5)));
    assert_eq!(table(&c).await, b);
    let r = c
        .query_one("SELECT r.detail->>'action', r.detail->>'as_of' FROM coverage_release c JOIN ingest_run r ON r.id = c.ingest_run_id", &[])
        .await
        .unwrap();
    assert_eq!((r.get::<_, String>(0), r.get::<_, String>(1)), ("replaced".into(), "2024-01-01".into()));
}

/// An older release goes among the versions without touching reported_coverage.
#[tokio::test]
async fn an_older_release_leaves_the_current_table_alone() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    let new: Cells = (3500..3510).map(|e| (e, 2)).collect();
    put(&mut c, d(2024, 4), &new, false).await;
    let xmins = "SELECT string_agg(xmin::text, ',' ORDER BY n, e) || (SELECT computed_at::text FROM table_checksum WHERE table_name = 'reported_coverage') FROM reported_coverage";
    let before: String = c.query_one(xmins, &[]).await.unwrap().get(0);
    let old: Cells = (3500..3505).map(|e| (e, 1)).collect();
    let s = put(&mut c, d(2023, 10), &old, false).await;
    assert_eq!(s.detail["write"], "older release: reported_coverage untouched");
    assert_eq!(c.query_one(xmins, &[]).await.unwrap().get::<_, String>(0), before);
    assert_eq!(in_force(&c, d(2023, 10)).await, old);
    assert_eq!(in_force(&c, d(2024, 4)).await, new);
}

/// A partial file for a date without a release: merged into a copy of the
/// release in force then, which stays as it was.
#[tokio::test]
async fn a_partial_file_merges_into_a_copy_of_the_release_in_force() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    let base: Cells = (3500..3510).map(|e| (e, 2)).collect();
    put(&mut c, d(2024, 1), &base, false).await;
    let over: Cells = [(3500, 0), (3600, 1)].into_iter().collect();
    let s = put(&mut c, d(2024, 4), &over, true).await;
    assert_eq!(s.detail["action"], "merged");
    let mut want = base.clone();
    want.extend(over.clone());
    assert_eq!(in_force(&c, d(2024, 4)).await, want);
    assert_eq!(in_force(&c, d(2024, 1)).await, base);
    assert_eq!(table(&c).await, want);
    // Two partial files of one date in one command: both merged, in order.
    let o = Options { partial: true, ..at(d(2024, 7)) };
    let one: Cells = [(3501, 1)].into_iter().collect();
    let two: Cells = [(3501, 3), (3502, 0)].into_iter().collect();
    release::ingest_files(&mut c, &[cov("a.csv", &one), cov("b.csv", &two)], &o).await.unwrap();
    want.extend(two);
    assert_eq!(table(&c).await, want);
}

async fn refused(what: impl std::future::Future<Output = Result<Vec<funkplan_ingest::Summary>, Error>>, fragments: &[&str]) {
    let err = what.await.expect_err("should be refused");
    let msg = err.to_string();
    for f in fragments {
        assert!(msg.contains(f), "{f:?} not in: {msg}");
    }
}

#[tokio::test]
async fn bad_input_is_refused_with_nothing_changed() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    let a: Cells = (3500..3510).map(|e| (e, 2)).collect();
    let b: Cells = (3500..3510).map(|e| (e, 1)).collect();
    put(&mut c, d(2024, 1), &a, false).await;
    let before = state(&c).await;
    let mut c2 = db.client().await;

    // Two files claiming one date with different content, in one command.
    let files = [cov("202404_a.csv", &a), cov("202404_b.csv", &b)];
    refused(release::ingest_files(&mut c2, &files, &opts_today()), &["202404_a.csv", "202404_b.csv", "2024-04-01", "different content"]).await;
    // The same content twice is one release, not a conflict (checked below).
    // --as-of in the future, before 2019.
    refused(release::ingest_files(&mut c2, &[cov("cov.csv", &a)], &at(d(2026, 12))), &["cov.csv", "2026-12-01", "future"]).await;
    refused(release::ingest_files(&mut c2, &[cov("cov.csv", &a)], &at(d(2018, 12))), &["cov.csv", "2018-12-01", "before 2019-01-01"]).await;
    // A file name's date contradicting --as-of.
    refused(release::ingest_files(&mut c2, &[cov("202401_x.csv", &a)], &at(d(2024, 2))), &["202401_x.csv", "2024-01", "--as-of", "2024-02-01"]).await;
    // No date at all.
    refused(release::ingest_files(&mut c2, &[cov("cov.csv", &a)], &opts_today()), &["cov.csv", "YYYYMM", "--as-of"]).await;
    // A bad file among good ones: nothing of the good ones is kept.
    let bad = tmp_file("202407_bad.csv", "id,gsm_out,lte,nr_dss,nr_nsa_sa,nr_gesamt\n100mN1E1,1,x,1,1,1\n");
    let err = release::ingest_files(&mut c2, &[cov("202404_a.csv", &a), bad], &opts_today()).await.unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err}");
    assert_eq!(state(&c).await, before);

    // Dropping a date without a release: the message lists the dates.
    let err = release::drop_release(&mut c2, d(2023, 1), DropOptions::default()).await.unwrap_err().to_string();
    assert!(err.contains("2023-01-01") && err.contains("2024-01-01"), "{err}");
    // Dropping the only release while the seeded targets need one.
    let err = release::drop_release(&mut c2, d(2024, 1), DropOptions::default()).await.unwrap_err().to_string();
    assert!(err.contains("only coverage release") && err.contains("--force"), "{err}");
    assert_eq!(state(&c).await, before);
    release::drop_release(&mut c2, d(2024, 1), DropOptions { force: true }).await.unwrap();
    assert!(dates(&c).await.is_empty());
    assert!(table(&c).await.is_empty(), "no release left: no current coverage");

    // The same content under two names for one date: one release.
    let files = [cov("202404_a.csv", &a), cov("202404_copy.csv", &a)];
    let s = release::ingest_files(&mut c2, &files, &opts_today()).await.unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!(dates(&c).await, vec![d(2024, 4)]);
}

fn opts_today() -> Options {
    Options { as_of: None, ..opts() }
}

/// Storage (issue 16): a release changing 5 % of the cells adds at most
/// 15 % of a full release's size to the versions (with their indexes).
#[tokio::test]
async fn a_release_changing_five_percent_adds_at_most_fifteen_percent() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    let full: Cells = (0..40_000).map(|e| (e, (e % 3) as i16)).collect();
    put(&mut c, d(2024, 1), &full, false).await;
    let size = "SELECT pg_total_relation_size('reported_coverage_version') + pg_total_relation_size('coverage_release')";
    let one: i64 = c.query_one(size, &[]).await.unwrap().get(0);
    let mut next = full.clone();
    for e in (0..40_000).step_by(20) {
        next.insert(e, 3);
    }
    put(&mut c, d(2024, 4), &next, false).await;
    let two: i64 = c.query_one(size, &[]).await.unwrap().get(0);
    let growth = (two - one) as f64 / one as f64;
    eprintln!("one release: {one} bytes; a second with 5 % changed: +{} bytes ({:.1} %)", two - one, growth * 100.0);
    assert!(growth <= 0.15, "a 5 % release added {:.1} % of a full one", growth * 100.0);
}
