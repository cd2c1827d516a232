//! The dead-spot planner (issue 23) on the small demo dataset, against the
//! real PostgreSQL+PostGIS: the engine's plan equals the PostGIS reference
//! (ST_DWithin pairs, greedy loop in SQL) site by site, for a generated
//! lattice and for a candidates CSV; bad input is refused with the reason.
#![allow(clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};

use funkplan_db::testing::TestDb;
use funkplan_e2e::{bin, free_addr, header, http, ingest_small_demo, ok, run, text, wait_http_ok};

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

fn fails(args: &[&str], url: &str) -> String {
    let o = run(args, &[("DATABASE_URL", url)]);
    let (_, err) = text(&o);
    assert!(!o.status.success(), "funkplan {args:?} should fail");
    err
}

#[test]
fn plans_equal_the_postgis_reference_and_bad_input_is_refused() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let t = rt.block_on(TestDb::new());
    let url = t.url.clone();
    let dir = std::env::temp_dir().join(format!("funkplan-e2e-plan-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap();
    ingest_small_demo(d, &url);

    // A lattice over the LTE dead spots of the state: the same sites with
    // the same gains as the reference (--check fails otherwise).
    let out = ok(&["plan", "--technology", "lte", "--budget", "3", "--engine", "postgis", "--check", "--json"], &url);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["differences"].as_array().unwrap().len(), 0, "{out}");
    let sites = v["reference"]["sites"].as_array().unwrap();
    assert!(!sites.is_empty() && sites[0]["households"].as_f64().unwrap() > 0.0, "the demo has LTE dead spots with households: {out}");

    // The engine's JSON: ranked, GeoJSON, gains non-increasing.
    let out = ok(&["plan", "--technology", "5g", "--scope", "05378", "--budget", "4", "--json"], &url);
    let p: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ranked = p["sites"].as_array().unwrap();
    assert_eq!(ranked.len(), 4, "{out}");
    assert_eq!(p["geojson"]["features"].as_array().unwrap().len(), 4);
    for w in ranked.windows(2) {
        assert!(w[0]["gain"].as_f64() >= w[1]["gain"].as_f64(), "{out}");
    }

    // A candidates CSV around the lattice's choices: model radius, a class
    // and a radius in metres, one candidate with an operator.
    let csv = dir.join("candidates.csv");
    let mut rows = String::from("candidate_id,operator,lon,lat,technology,radius_m,radius_class\n");
    for (i, s) in ranked.iter().enumerate() {
        let (lon, lat) = (s["lon"].as_f64().unwrap(), s["lat"].as_f64().unwrap());
        rows.push_str(&format!("A{i},,{lon},{lat},5g,,\n"));
        rows.push_str(&format!("B{i},telekom,{},{},5g,,rural\n", lon + 0.01, lat));
        rows.push_str(&format!("C{i},,{},{},5g,1500,\n", lon, lat - 0.01));
    }
    std::fs::write(&csv, &rows).unwrap();
    let c = csv.to_str().unwrap();
    let out = ok(&["plan", "--technology", "5g", "--scope", "05378", "--budget", "5", "--candidates", c, "--engine", "postgis", "--check", "--json"], &url);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["reference"]["sites"].as_array().unwrap().len(), 5, "{out}");

    // Bad input: each refused with where and why.
    let bad = |name: &str, body: &str| {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let head = "candidate_id,operator,lon,lat,technology\n";
    let dup = bad("dup.csv", &format!("{head}X,,7.1,51.0,lte\nX,,7.2,51.0,lte\n"));
    let err = fails(&["plan", "--technology", "lte", "--budget", "1", "--candidates", &dup], &url);
    assert!(err.contains("duplicate candidate id \"X\"") && err.contains("line 2") && err.contains("line 3"), "{err}");
    let outside = bad("outside.csv", &format!("{head}X,,8.5,52.5,lte\n"));
    let err = fails(&["plan", "--technology", "lte", "--budget", "1", "--candidates", &outside], &url);
    assert!(err.contains("lies outside the state"), "{err}");
    let tech = bad("tech.csv", &format!("{head}X,,7.1,51.0,umts\n"));
    let err = fails(&["plan", "--technology", "lte", "--budget", "1", "--candidates", &tech], &url);
    assert!(err.contains("line 2") && err.contains("umts"), "{err}");
    let two = bad("two.csv", &format!("{head}X,,7.1,51.0,lte\nY,,7.0,51.0,lte\n"));
    let err = fails(&["plan", "--technology", "lte", "--budget", "3", "--candidates", &two], &url);
    assert!(err.contains("budget of 3 sites is above the number of candidates"), "{err}");
    let err = fails(&["plan", "--technology", "lte", "--budget", "0"], &url);
    assert!(err.contains("budget must be at least 1"), "{err}");
    let err = fails(&["plan", "--technology", "lte", "--budget", "1", "--scope", "NRW"], &url);
    assert!(err.contains("scope \"NRW\" is not an AGS"), "{err}");
    let err = fails(&["plan", "--technology", "lte", "--budget", "1", "--operator", "o2"], &url);
    assert!(err.contains("unknown operator \"o2\""), "{err}");
    let err = fails(&["plan", "--technology", "umts", "--budget", "1"], &url);
    assert!(err.contains("umts"), "{err}");
    let err = fails(&["plan", "--technology", "lte", "--budget", "1", "--limit-s", "0.000001"], &url);
    assert!(err.contains("would take about") && err.contains("above the limit"), "{err}");

    // Over HTTP (`funkplan serve`): kept with an id, roles checked, and "as
    // scenario" moves the scenario's figures by exactly the plan's totals.
    ok(&["recompute"], &url);
    let staff = ok(&["token", "create", "--role", "staff"], &url).lines().last().unwrap().trim().to_owned();
    let muni = ok(&["token", "create", "--role", "municipality:05378004"], &url).lines().last().unwrap().trim().to_owned();
    let addr = free_addr();
    let child = Command::new(bin()).args(["serve", "--addr", &addr]).env("DATABASE_URL", &url).env("RUST_LOG", "warn").stdin(Stdio::null()).spawn().unwrap();
    let _server = Server(child);
    assert!(wait_http_ok(&addr, "/healthz", 120), "serve did not come up");
    let post = |token: &str, body: &str| {
        let auth = format!("Bearer {token}");
        http(&addr, "POST", "/api/v1/plans", &[("Authorization", &auth)], Some(body)).unwrap()
    };
    let (s, _, body) = http(&addr, "POST", "/api/v1/plans", &[], Some(r#"{"technology":"5g","budget":1}"#)).unwrap();
    assert_eq!(s, 401, "plans need a token: {body}");
    let (s, _, body) = post(&muni, r#"{"technology":"5g","budget":1,"scope":"05378"}"#);
    assert_eq!(s, 403, "a municipality plans for its own AGS only: {body}");
    let (s, _, body) = post(&staff, r#"{"technology":"4g","budget":1}"#);
    assert_eq!(s, 422, "{body}");
    assert!(body.contains("4g"), "{body}");
    let (s, _, body) = post(&staff, r#"{"technology":"5g","budget":0}"#);
    assert_eq!(s, 422, "{body}");
    // A lattice plan for any operator has no builder: not into the scenario.
    let (s, _, body) = post(&staff, r#"{"technology":"5g","budget":1,"scope":"05378","as_scenario":true}"#);
    assert_eq!(s, 422, "{body}");
    assert!(body.contains("no operator to build it"), "{body}");

    // Candidates with an operator, as scenario.
    let cands: Vec<String> = ranked
        .iter()
        .enumerate()
        .map(|(i, r)| format!(r#"{{"candidate_id":"K{i}","operator":"telekom","lon":{},"lat":{},"technology":"5g"}}"#, r["lon"], r["lat"]))
        .collect();
    let scenario = |c: &tokio_postgres::Client| {
        rt.block_on(async {
            let r = c
                .query_one(
                    "SELECT sum(households_covered) AS hh, sum(dead_cells)::bigint AS dead FROM coverage_result
                     WHERE scenario AND technology = '5g' AND ags LIKE '05378%'",
                    &[],
                )
                .await
                .unwrap();
            (r.get::<_, f64>("hh"), r.get::<_, i64>("dead"))
        })
    };
    let c = rt.block_on(t.client());
    let before = scenario(&c);
    let body = format!(r#"{{"technology":"5g","budget":2,"scope":"05378","candidates":[{}],"as_scenario":true}}"#, cands.join(","));
    let (s, h, body) = post(&staff, &body);
    assert_eq!(s, 201, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let location = header(&h, "location").unwrap().to_owned();
    assert_eq!(location, format!("/api/v1/plans/{}", v["id"]));
    assert_eq!(v["scenario"]["sites"].as_array().unwrap().len(), 2, "{body}");
    assert_eq!(v["plan"]["geojson"]["features"].as_array().unwrap().len(), 2);
    let after = scenario(&c);
    let last = &v["plan"]["sites"][1];
    let (hh, km2) = (last["cumulative_households"].as_f64().unwrap(), last["cumulative_area_km2"].as_f64().unwrap());
    assert!((after.0 - before.0 - hh).abs() < 1e-6 * hh.max(1.0), "scenario households rose by {}, the plan says {hh}", after.0 - before.0);
    #[allow(clippy::cast_precision_loss)]
    let closed = (before.1 - after.1) as f64 * 0.01;
    assert!((closed - km2).abs() < 1e-9, "scenario dead area fell by {closed} km², the plan says {km2}");
    // Kept: GET answers the same plan; the writes are in the audit log.
    let (s, _, got) = http(&addr, "GET", &location, &[], None).unwrap();
    assert_eq!(s, 200, "{got}");
    let got: serde_json::Value = serde_json::from_str(&got).unwrap();
    assert_eq!(got["plan"], v["plan"]);
    assert_eq!(got["scenario"], v["scenario"]);
    let (s, _, _) = http(&addr, "GET", "/api/v1/plans/999999", &[], None).unwrap();
    assert_eq!(s, 404);
    let audited: i64 = rt.block_on(async {
        c.query_one("SELECT count(*) FROM audit_log WHERE entity IN ('plan', 'site', 'measure') AND (entity_id LIKE 'plan-%' OR entity = 'plan')", &[]).await.unwrap().get(0)
    });
    assert_eq!(audited, 5, "the plan, two sites and two measures");

    // One operator's plan over a wide lattice: lattice points, its own sites
    // to upgrade and other operators' masts to share; as scenario, an
    // upgrade is a measure on the existing site, the others new sites.
    let (s, _, body) = post(&staff, r#"{"technology":"5g","operator":"telekom","budget":5,"lattice_m":20000,"as_scenario":true}"#);
    assert_eq!(s, 201, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let id = v["id"].as_i64().unwrap();
    let chosen = v["plan"]["sites"].as_array().unwrap();
    let kinds: Vec<&str> = chosen.iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"upgrade") && kinds.contains(&"share"), "{kinds:?}");
    assert!(chosen.iter().all(|s| s["operator"] == "telekom"), "{body}");
    let new_sites = kinds.iter().filter(|k| **k != "upgrade").count();
    assert_eq!(v["scenario"]["sites"].as_array().unwrap().len(), new_sites);
    assert_eq!(v["scenario"]["measures"].as_array().unwrap().len(), chosen.len());
    for s in chosen {
        let rank = s["rank"].as_i64().unwrap();
        let (site, kind, status): (String, String, String) = rt.block_on(async {
            let r = c.query_one("SELECT site_id, kind, status FROM measure WHERE measure_id = $1", &[&format!("plan-{id}-{rank}-m")]).await.unwrap();
            (r.get(0), r.get(1), r.get(2))
        });
        assert_eq!((kind.as_str(), status.as_str()), ("5g_upgrade", "planned"));
        let want = match s["kind"].as_str().unwrap() {
            "upgrade" => s["id"].as_str().unwrap().trim_start_matches("upgrade:").to_owned(),
            _ => format!("plan-{id}-{rank}"),
        };
        assert_eq!(site, want);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
