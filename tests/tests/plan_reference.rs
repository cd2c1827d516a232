//! The dead-spot planner (issue 23) on the small demo dataset, against the
//! real PostgreSQL+PostGIS: the engine's plan equals the PostGIS reference
//! (ST_DWithin pairs, greedy loop in SQL) site by site, for a generated
//! lattice and for a candidates CSV; bad input is refused with the reason.
#![allow(clippy::unwrap_used)]

use funkplan_db::testing::TestDb;
use funkplan_e2e::{run, text};

fn ok(args: &[&str], url: &str) -> String {
    let o = run(args, &[("DATABASE_URL", url)]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "funkplan {args:?} failed: {err}");
    out
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
    ok(&["demo-data", "--scale", "small", d], &url);
    for (kind, file) in [
        ("municipalities", "municipalities.geojson"),
        ("households", "households.csv"),
        ("sites", "sites.csv"),
        ("measures", "measures.csv"),
        ("coverage", "coverage.csv"),
    ] {
        let path = format!("{d}/{file}");
        let mut args = vec!["ingest", kind, &path];
        if kind == "coverage" {
            args.extend(["--as-of", "2026-10-01"]);
        }
        ok(&args, &url);
    }

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
    let _ = std::fs::remove_dir_all(&dir);
}
