//! The grid snapshot through the built binary (issue 24): `funkplan
//! recompute` on the small demo writes the snapshot, the next one reads it
//! and writes the same figures; a household file ingested again with one
//! cell changed, and a coverage release with one cell changed, each make the
//! next start read the database (the ingest swaps in a new table and its
//! statement triggers bump the counters).
#![allow(clippy::unwrap_used)]

use funkplan_db::testing::TestDb;
use funkplan_e2e::{ingest_small_demo, ok, run, text};

/// `recompute --json` with snapshots in `snaps`: where the grid came from.
fn recompute(url: &str, snaps: &str) -> String {
    let o = run(&["recompute", "--json"], &[("DATABASE_URL", url), ("FUNKPLAN_SNAPSHOT_DIR", snaps), ("FUNKPLAN_NO_SNAPSHOT", "0")]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "recompute failed: {err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
    v["grid_from"].as_str().unwrap().to_owned()
}

async fn figures(c: &tokio_postgres::Client) -> String {
    let sql = "SELECT string_agg(concat_ws(' ', scenario, ags, technology, households, households_covered, cells, cells_covered, dead_cells, grey_cells), '|' \
               ORDER BY scenario, ags, technology) FROM coverage_result";
    c.query_one(sql, &[]).await.unwrap().get(0)
}

/// `file` with the numeric field `col` of its first data line one less (one
/// more where it is 0).
fn with_one_change(file: &str, col: usize) {
    let text = std::fs::read_to_string(file).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let sep = if lines[1].contains(';') { ';' } else { ',' };
    let mut f: Vec<String> = lines[1].split(sep).map(str::to_owned).collect();
    let v: f64 = f[col].parse().unwrap_or_else(|_| panic!("{file}: field {col} of {:?}", lines[1]));
    f[col] = format!("{}", if v >= 1.0 { v - 1.0 } else { v + 1.0 });
    lines[1] = f.join(&sep.to_string());
    std::fs::write(file, lines.join("\n") + "\n").unwrap();
}

#[test]
fn ingests_make_the_next_start_read_the_database() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let t = rt.block_on(TestDb::new());
    let c = rt.block_on(t.client());
    let url = t.url.clone();
    let dir = std::env::temp_dir().join(format!("funkplan-e2e-snapshot-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap().to_owned();
    let snaps = format!("{d}/snapshots");
    ingest_small_demo(&d, &url);

    assert_eq!(recompute(&url, &snaps), "database", "first start");
    let first = rt.block_on(figures(&c));
    assert_eq!(recompute(&url, &snaps), "snapshot", "nothing changed");
    assert_eq!(rt.block_on(figures(&c)), first, "the same figures from the snapshot");

    // One census cell's inhabitants changed: the households are swapped in anew.
    let households = format!("{d}/households.csv");
    with_one_change(&households, 3);
    ok(&["ingest", "households", &households], &url);
    assert_eq!(recompute(&url, &snaps), "database", "after a household ingest");
    let after = rt.block_on(figures(&c));
    assert_ne!(after, first, "the changed households show");
    assert_eq!(recompute(&url, &snaps), "snapshot");

    // One cell's LTE operators in a new coverage release.
    let coverage = format!("{d}/coverage.csv");
    with_one_change(&coverage, 2);
    ok(&["ingest", "coverage", &coverage, "--as-of", "2026-11-01"], &url);
    assert_eq!(recompute(&url, &snaps), "database", "after a coverage release");
    assert_eq!(recompute(&url, &snaps), "snapshot");
    let _ = std::fs::remove_dir_all(&dir);
}
