//! The whole chain on the small demo dataset: generate, ingest, recompute,
//! serve; then an authenticated write is reflected in the municipality's
//! figures and in the targets before the next read (DESIGN §7).
#![allow(clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};

use funkplan_db::testing::TestDb;
use funkplan_e2e::{bin, free_addr, header, http, http_get, ingest_small_demo, ok, wait_http_ok};

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

fn target_value(addr: &str, id: &str) -> f64 {
    let (s, body) = http_get(addr, "/api/v1/targets").unwrap();
    assert_eq!(s, 200, "{body}");
    json(&body).as_array().unwrap().iter().find(|t| t["id"] == id).unwrap()["current_value"].as_f64().unwrap()
}

#[test]
fn a_completed_measure_shows_up_in_municipality_figures_and_targets() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let t = rt.block_on(TestDb::new());
    let url = t.url.clone();
    let dir = std::env::temp_dir().join(format!("funkplan-e2e-chain-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap();
    ingest_small_demo(d, &url);
    ok(&["recompute"], &url);
    let token = ok(&["token", "create", "--role", "staff"], &url).lines().last().unwrap().trim().to_owned();

    let addr = free_addr();
    let child = Command::new(bin())
        .args(["serve", "--addr", &addr])
        .env("DATABASE_URL", &url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Server(child);
    assert!(wait_http_ok(&addr, "/healthz", 120), "serve did not come up");

    // A planned 5G upgrade, its site and municipality.
    let (mid, ags): (String, String) = rt.block_on(async {
        let c = t.client().await;
        let r = c
            .query_one(
                "SELECT m.measure_id, s.ags FROM measure m JOIN site s USING (site_id)
                 WHERE m.kind = '5g_upgrade' AND m.status = 'planned' AND s.ags IS NOT NULL
                 ORDER BY m.measure_id LIMIT 1",
                &[],
            )
            .await
            .unwrap();
        (r.get(0), r.get::<_, String>(1))
    });
    let before_target = target_value(&addr, "5g-upgrades");
    let (_, muni_before) = http_get(&addr, &format!("/api/v1/municipalities/{ags}")).unwrap();
    let muni_before = json(&muni_before);
    let completed_before = muni_before["measures"]["5g_upgrade"]["completed"].as_f64().unwrap_or(0.0);

    let (s, h, body) = http(&addr, "GET", &format!("/api/v1/measures/{mid}"), &[], None).unwrap();
    assert_eq!(s, 200, "{body}");
    let etag = header(&h, "etag").expect("ETag on measure").to_owned();
    // The header list is lower-cased; the ETag value's case matters little
    // for our numeric versions, but send it back as received.
    let today = chrono_today();
    let patch = format!(r#"{{"status":"completed","completed_date":"{today}"}}"#);
    let auth = format!("Bearer {token}");
    let (s, _, body) = http(
        &addr,
        "PATCH",
        &format!("/api/v1/measures/{mid}"),
        &[("Authorization", &auth), ("If-Match", &etag)],
        Some(&patch),
    )
    .unwrap();
    assert_eq!(s, 200, "PATCH failed: {body}");

    // Reflected at once: the target count and the municipality's figures.
    assert_eq!(target_value(&addr, "5g-upgrades"), before_target + 1.0);
    let (_, muni_after) = http_get(&addr, &format!("/api/v1/municipalities/{ags}")).unwrap();
    let muni_after = json(&muni_after);
    assert_eq!(muni_after["measures"]["5g_upgrade"]["completed"].as_f64().unwrap(), completed_before + 1.0);
    assert_ne!(muni_after["computed_at"], muni_before["computed_at"], "figures were not recomputed");
    let share_before = muni_before["coverage"]["5g"]["household_share"].as_f64().unwrap();
    let share_after = muni_after["coverage"]["5g"]["household_share"].as_f64().unwrap();
    assert!(share_after >= share_before, "5G share fell from {share_before} to {share_after}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn chrono_today() -> String {
    // Today's date (UTC) without pulling chrono into the test crate.
    let out = Command::new("date").args(["-u", "+%Y-%m-%d"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
