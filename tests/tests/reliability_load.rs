//! Load (issue 8), the 5-second smoke version of `scripts/load`: the
//! `loadgen` binary holds concurrent clients on reads and If-Match writes
//! against `funkplan serve`; no 5xx, no transport error, and every write the
//! clients were told about is in the final rows and the audit log exactly
//! once (checked by loadgen through the API and here in the database).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod reliability_common;

use std::process::Command;

use reliability_common::{json, Loaded, Server};

#[test]
fn five_seconds_of_mixed_load_lose_nothing() {
    let l = Loaded::new("load");
    let token = l.token("staff");
    let s = Server::start(&l.url, &[], l.dir.path("serve.log"));
    let audit_before = l.query_i64("SELECT count(*) FROM audit_log");
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["--addr", &s.addr, "--token", &token, "--clients", "16", "--seconds", "5", "--write-keys", "8"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{report}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "loadgen failed: {report} {}", String::from_utf8_lossy(&out.stderr));
    let r = json(&report);
    assert_eq!(r["5xx"], 0);
    assert_eq!(r["errors"], 0);
    assert!(r["verification_failures"].as_array().unwrap().is_empty());
    let acked = r["writes_acknowledged"].as_i64().unwrap();
    assert!(acked > 0, "no write was acknowledged");
    assert!(r["requests"].as_u64().unwrap() > 100, "{report}");
    assert!(r["p99_ms"].as_f64().unwrap() > 0.0);
    // The database agrees: one audit row per acknowledged write, no more.
    let audit_after = l.query_i64("SELECT count(*) FROM audit_log");
    assert_eq!(audit_after - audit_before, acked, "audit rows vs acknowledged writes");
    assert!(s.log_text().lines().all(|l| !l.contains("panicked")), "{}", s.log_text());
}
