//! The README's first command, end to end: `scripts/demo` on a fresh home
//! serves /healthz and the five targets; a second `scripts/demo` while the
//! first runs reuses the same cluster.

use std::process::{Child, Command, Stdio};

use funkplan_e2e::{free_addr, http_get, wait_http_ok};

struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        // SIGTERM: the server shuts down gracefully.
        let _ = Command::new("kill").arg("-TERM").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

fn start_demo(home: &std::path::Path, addr: &str) -> Demo {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let child = Command::new("bash")
        .arg(root.join("scripts/demo"))
        .env("FUNKPLAN_HOME", home)
        .env("FUNKPLAN_ADDR", addr)
        .env("FUNKPLAN_PROFILE", "debug")
        .env("FUNKPLAN_BIN", funkplan_e2e::bin())
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn scripts/demo");
    Demo(child)
}

#[test]
fn scripts_demo_serves_health_and_targets_and_a_second_run_reuses_the_cluster() {
    let home = std::env::temp_dir().join(format!("funkplan-demo-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    let addr = free_addr();
    let first = start_demo(&home, &addr);
    assert!(wait_http_ok(&addr, "/healthz", 600), "scripts/demo did not come up on {addr}");

    let (s, body) = http_get(&addr, "/healthz").unwrap();
    assert_eq!((s, body.trim()), (200, r#"{"status":"ok"}"#));
    let (s, body) = http_get(&addr, "/api/v1/targets").unwrap();
    assert_eq!(s, 200);
    let targets: serde_json::Value = serde_json::from_str(&body).unwrap();
    let got: Vec<(String, f64)> = targets
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_str().unwrap().to_owned(), t["target_value"].as_f64().unwrap()))
        .collect();
    let ids: Vec<&str> = got.iter().map(|(i, _)| i.as_str()).collect();
    assert_eq!(ids, ["5g-upgrades", "5g-households", "lte-measures", "lte-dead-spots", "5g-area"]);
    assert_eq!(got.iter().map(|(_, v)| *v).collect::<Vec<_>>()[..4], [10300.0, 90.0, 7500.0, 0.0]);

    // A second demo on another port reuses the running cluster.
    let addr2 = free_addr();
    let second = start_demo(&home, &addr2);
    assert!(wait_http_ok(&addr2, "/healthz", 600), "second scripts/demo did not come up");
    let (_, body2) = http_get(&addr2, "/api/v1/targets").unwrap();
    let t2: serde_json::Value = serde_json::from_str(&body2).unwrap();
    assert_eq!(t2.as_array().map(Vec::len), Some(5));
    drop(second);
    drop(first);

    // Clean up the cluster this test made.
    let status = funkplan_e2e::run(&["db", "status"], &[("FUNKPLAN_HOME", home.to_str().unwrap())]);
    let _ = funkplan_e2e::run(&["db", "stop"], &[("FUNKPLAN_HOME", home.to_str().unwrap())]);
    let out = String::from_utf8_lossy(&status.stdout).into_owned();
    if let Some(dir) = out.split("data ").nth(1).and_then(|s| s.split(',').next()) {
        if let Some(base) = std::path::Path::new(dir.trim()).parent() {
            let _ = std::fs::remove_dir_all(base);
        }
    }
    let _ = std::fs::remove_dir_all(&home);
}
