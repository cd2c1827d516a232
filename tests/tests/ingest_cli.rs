//! `funkplan ingest` and `funkplan demo-data` through the built binary:
//! the one-line error with every bad row listed, the summary paragraph, and
//! a process killed mid-ingest leaving the database as it was (issue 3).
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use funkplan_db::testing::TestDb;
use funkplan_e2e::{bin, run, text};

fn tmp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("funkplan-e2e-ingest-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn checksum(c: &tokio_postgres::Client) -> String {
    let mut out = String::new();
    for t in ["municipality", "grid_cell", "household_cell", "reported_coverage", "site", "measure", "ingest_run"] {
        let sql = format!("SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), 'empty') FROM {t} t");
        let s: String = c.query_one(&sql, &[]).await.unwrap().get(0);
        out.push_str(&format!("{t}:{s},"));
    }
    out
}

const SQUARES: &str = r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::25832"}},"features":[
{"type":"Feature","properties":{"AGS":"05111000","GEN":"Beispielstadt","synthetic":true},
 "geometry":{"type":"Polygon","coordinates":[[[350000,5640000],[360000,5640000],[360000,5650000],[350000,5650000],[350000,5640000]]]}}]}"#;

#[tokio::test]
async fn bad_rows_are_listed_and_the_last_line_says_why() {
    let db = TestDb::new().await;
    let c = db.client().await;
    let dir = tmp_dir("bad");
    let env = [("DATABASE_URL", db.url.as_str())];
    let m = dir.join("m.geojson");
    std::fs::write(&m, SQUARES).unwrap();
    let o = run(&["ingest", "municipalities", m.to_str().unwrap(), "--state", "05"], &env);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.starts_with("Ingested municipalities from m.geojson"), "{out}");
    assert!(out.contains("10000 cells"), "{out}");

    let before = checksum(&c).await;
    let s = dir.join("sites.csv");
    std::fs::write(&s, "site_id,operator,lon,lat,status\nA,o2,6.9,50.9,on_air\nB,telekom,6.9,50.9,onair\n").unwrap();
    let o = run(&["ingest", "sites", s.to_str().unwrap()], &env);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("sites.csv: line 2: field `operator` = \"o2\": unknown operator"), "{err}");
    assert!(err.contains("sites.csv: line 3: field `status` = \"onair\""), "{err}");
    let last = err.lines().last().unwrap();
    assert!(last.starts_with("error: ingest sites "), "{last}");
    assert!(last.contains("2 bad rows, nothing was changed"), "{last}");
    assert_eq!(err.lines().filter(|l| l.starts_with("error: ")).count(), 1, "{err}");
    assert_eq!(checksum(&c).await, before);

    // --dry-run validates and counts, and changes nothing.
    std::fs::write(&s, "site_id,operator,lon,lat,status\nA,telekom,6.9,50.9,on_air\n").unwrap();
    let o = run(&["ingest", "sites", s.to_str().unwrap(), "--dry-run"], &env);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.starts_with("Dry run (nothing written): would ingest sites"), "{out}");
    assert!(out.contains("1 inserted"), "{out}");
    assert_eq!(checksum(&c).await, before);
}

#[tokio::test]
async fn a_killed_ingest_leaves_the_database_unchanged() {
    let db = TestDb::new().await;
    let c = db.client().await;
    let dir = tmp_dir("kill");
    let env = [("DATABASE_URL", db.url.as_str())];
    let m = dir.join("m.geojson");
    std::fs::write(&m, SQUARES).unwrap();
    assert!(run(&["ingest", "municipalities", m.to_str().unwrap()], &env).status.success());
    let small = dir.join("small.csv");
    std::fs::write(&small, "GITTER_ID_1km,Einwohner,HHGroesse_D\nCRS3035RES1000mN3090000E4100000,10,2\n").unwrap();
    assert!(run(&["ingest", "households", small.to_str().unwrap()], &env).status.success());
    let before = checksum(&c).await;

    // A large census file: 1.5 M 100 m cells.
    let big = dir.join("big.csv");
    {
        use std::io::Write;
        let mut w = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        writeln!(w, "GITTER_ID_100m;Einwohner;Haushalte").unwrap();
        for i in 0..1_500_000u64 {
            let (n, e) = (3_050_000 + (i / 1500) * 100, 4_050_000 + (i % 1500) * 100);
            writeln!(w, "CRS3035RES100mN{n}E{e};{};{}", i % 7 * 2, i % 7).unwrap();
        }
    }
    let mut child = Command::new(bin())
        .args(["ingest", "households", big.to_str().unwrap()])
        .env("DATABASE_URL", &db.url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the ingest is writing (its COPY into household_cell runs),
    // then SIGKILL it.
    let started = Instant::now();
    let mut seen_copy = false;
    while started.elapsed() < Duration::from_secs(120) {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        let n: i64 = c
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() \
                 AND state = 'active' AND query LIKE 'COPY %household_cell%'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if n > 0 {
            seen_copy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(seen_copy, "the ingest finished or failed before it was seen copying ({status:?})");
    assert!(!status.success());
    // The server notices the dead client and rolls its transaction back.
    let t = Instant::now();
    loop {
        let n: i64 = c
            .query_one("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()", &[])
            .await
            .unwrap()
            .get(0);
        if n == 0 || t.elapsed() > Duration::from_secs(30) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(checksum(&c).await, before, "a killed ingest changed the database");
    let runs: i64 = c.query_one("SELECT count(*) FROM ingest_run WHERE kind = 'households'", &[]).await.unwrap().get(0);
    assert_eq!(runs, 1);
}

#[test]
fn demo_data_is_deterministic_real_where_it_can_be_and_marked_synthetic_elsewhere() {
    let (a, b) = (tmp_dir("demo-a"), tmp_dir("demo-b"));
    for d in [&a, &b] {
        let o = run(&["demo-data", "--scale", "small", d.to_str().unwrap()], &[]);
        assert!(o.status.success(), "{:?}", text(&o));
        assert!(text(&o).0.contains("SYNTHETIC"));
    }
    for f in ["municipalities.geojson", "households.csv", "sites.csv", "measures.csv", "coverage.csv", "releases/202010_coverage.csv", "releases/202410_coverage.csv"] {
        let (x, y) = (std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap());
        assert!(x == y, "{f} differs between two runs");
    }
    // The quarterly releases (issue 16): 2020-10 … 2026-10, the first whole,
    // the others their changes; merged in order they end at coverage.csv,
    // and the releases before differ from it (the coverage grew).
    let mut names: Vec<String> = std::fs::read_dir(a.join("releases")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!((names.len(), names[0].as_str(), names[24].as_str()), (25, "202010_coverage.csv", "202610_coverage.csv"));
    let lines = |p: PathBuf| -> std::collections::BTreeMap<String, String> {
        std::fs::read_to_string(p).unwrap().lines().skip(1).map(|l| (l.split(',').next().unwrap().to_owned(), l.to_owned())).collect()
    };
    let current = lines(a.join("coverage.csv"));
    let mut state = std::collections::BTreeMap::new();
    for (k, n) in names.iter().enumerate() {
        let delta = lines(a.join("releases").join(n));
        if k > 0 {
            assert!(delta.len() < current.len() / 2, "{n} holds the changes only");
        }
        state.extend(delta);
        if k == 0 {
            assert_eq!(state.len(), current.len(), "the first release is whole");
            assert_ne!(state, current, "the coverage of 2020-10 is not today's");
        }
    }
    assert!(state == current, "the releases merged end at coverage.csv");
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(a.join("municipalities.geojson")).unwrap()).unwrap();
    let features = m["features"].as_array().unwrap();
    // The real municipalities of the small scale (issue 15): Düsseldorf to
    // Cologne, named as in the BKG data, with the register's population.
    assert_eq!(features.len(), 42);
    assert!(features.iter().all(|f| f["properties"]["synthetic"] == false));
    let names: Vec<&str> = features.iter().map(|f| f["properties"]["GEN"].as_str().unwrap()).collect();
    assert!(names.contains(&"Düsseldorf") && names.contains(&"Köln") && names.contains(&"Neuss"), "{names:?}");
    let dus = features.iter().find(|f| f["properties"]["AGS"] == "05111000").unwrap();
    assert_eq!(dus["properties"]["EWZ"], 621_877);
    assert!(m.get("crs").is_none(), "WGS84 as the BKG data is published here");
    // The real census 1 km cells, verbatim.
    let census = std::fs::read_to_string(a.join("households.csv")).unwrap();
    let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/nrw-zensus2022-1km.csv")).unwrap();
    assert!(census.lines().count() > 1_000);
    let shipped: std::collections::HashSet<&str> = shipped.lines().collect();
    assert!(census.lines().all(|l| shipped.contains(l)), "households.csv holds a line not in data/");
    let sites = std::fs::read_to_string(a.join("sites.csv")).unwrap();
    assert!(sites.lines().skip(1).all(|l| l.ends_with(",true")));
    assert!(sites.lines().count() > 25_000);
    let measures = std::fs::read_to_string(a.join("measures.csv")).unwrap();
    // The story: 5G upgrades pass 10,300 before 2025; LTE measures after the strategy miss 7,500 by then.
    let count = |kind: &dyn Fn(&str) -> bool, from: &str, to: &str| {
        measures
            .lines()
            .skip(1)
            .filter(|l| {
                let f: Vec<&str> = l.split(',').collect();
                kind(f[2]) && f[3] == "completed" && f[5] > from && f[5] <= to
            })
            .count()
    };
    let five_g = count(&|k| k == "5g_upgrade", "0", "2024-12-31");
    let lte = count(&|k| k.starts_with("lte_"), "2021-11-16", "2024-12-31");
    let lte_later = count(&|k| k.starts_with("lte_"), "2021-11-16", "2025-12-31");
    assert!(five_g > 10_300, "{five_g}");
    assert!(lte < 7_500 && lte_later >= 7_500, "{lte} {lte_later}");
    assert!(measures.contains(",planned,"));
}

/// Coverage releases through the binary (issue 16): several dated files in
/// one command, `releases` as a table and JSON, and the refusals' last line.
#[tokio::test]
async fn coverage_releases_are_ingested_listed_and_dropped() {
    let db = TestDb::new().await;
    let c = db.client().await;
    let dir = tmp_dir("releases");
    let env = [("DATABASE_URL", db.url.as_str())];
    let head = "id,gsm_out,lte,nr_dss,nr_nsa_sa,nr_gesamt\n";
    let (a, b) = (dir.join("202401_MobilfunkMonitoring.csv"), dir.join("202404_MobilfunkMonitoring.csv"));
    std::fs::write(&a, format!("{head}100mN56400E3500,3,2,1,1,2\n")).unwrap();
    std::fs::write(&b, format!("{head}100mN56400E3500,3,3,1,1,2\n100mN56400E3501,3,1,0,0,0\n")).unwrap();
    let o = run(&["ingest", "coverage", a.to_str().unwrap(), b.to_str().unwrap()], &env);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("Release 2024-01-01: a new release") && out.contains("Release 2024-04-01: a new release"), "{out}");

    let o = run(&["releases"], &env);
    let (out, _) = text(&o);
    assert!(o.status.success());
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[1].starts_with("2024-01-01") && lines[1].contains("202401_MobilfunkMonitoring.csv"), "{out}");
    assert!(lines[2].starts_with("2024-04-01") && lines[2].contains(" 2 "), "{out}");
    let o = run(&["releases", "--json"], &env);
    let json: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert_eq!(json[1]["as_of"], "2024-04-01");
    assert_eq!(json[1]["cells"], 2);

    // Refusals: nothing changed, the last line says why.
    let before = checksum(&c).await;
    let undated = dir.join("coverage.csv");
    std::fs::write(&undated, format!("{head}100mN56400E3500,3,2,1,1,2\n")).unwrap();
    for (args, why) in [
        (vec!["ingest", "coverage", undated.to_str().unwrap()], "pass --as-of"),
        (vec!["ingest", "coverage", a.to_str().unwrap(), "--as-of", "2024-02-01"], "the file name says 2024-01"),
        (vec!["ingest", "coverage", undated.to_str().unwrap(), "--as-of", "2099-01-01"], "in the future"),
        (vec!["releases", "drop", "2023-01-01"], "the releases are: 2024-01-01, 2024-04-01"),
    ] {
        let o = run(&args, &env);
        let (_, err) = text(&o);
        assert!(!o.status.success(), "{args:?} succeeded");
        let last = err.lines().last().unwrap_or_default();
        assert!(last.starts_with("error: ") && last.contains(why), "{args:?}: {last}");
    }
    assert_eq!(checksum(&c).await, before);

    // Dropping the latest: the one before is the current coverage again.
    let o = run(&["releases", "drop", "2024-04-01"], &env);
    assert!(o.status.success(), "{}", text(&o).1);
    let lte: Vec<i16> = c.query("SELECT lte_count FROM reported_coverage ORDER BY n, e", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(lte, vec![2]);
}

/// `funkplan export` writes the API's files: a GeoPackage GDAL reads, CSV
/// for German Excel, and a clear error for a locale that does not apply.
#[tokio::test]
async fn export_writes_the_api_files() {
    let db = TestDb::new().await;
    let dir = tmp_dir("export");
    let env = [("DATABASE_URL", db.url.as_str())];
    let m = dir.join("m.geojson");
    std::fs::write(&m, SQUARES).unwrap();
    assert!(run(&["ingest", "municipalities", m.to_str().unwrap(), "--state", "05"], &env).status.success());
    let gpkg = dir.join("all.gpkg");
    let o = run(&["export", "--format", "gpkg", gpkg.to_str().unwrap()], &env);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(text(&o).0.contains("all.gpkg written"), "{:?}", text(&o));
    let info = Command::new("ogrinfo").args(["-ro", "-so", "-al"]).arg(&gpkg).output().expect("ogrinfo (GDAL) runs");
    let out = String::from_utf8_lossy(&info.stdout);
    assert!(out.contains("Layer name: municipalities") && out.contains("Feature Count: 1"), "{out}");
    assert!(!dir.join("all.part").exists(), "no half file left");
    let csv = dir.join("m.csv");
    assert!(run(&["export", "--format", "csv", "--locale", "de", csv.to_str().unwrap()], &env).status.success());
    let body = std::fs::read_to_string(&csv).unwrap();
    assert!(body.starts_with("\u{feff}ags;name;"), "{body}");
    assert!(body.contains("05111000;Beispielstadt;"), "{body}");
    let o = run(&["export", "--format", "gpkg", "--locale", "de", dir.join("x.gpkg").to_str().unwrap()], &env);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("applies to CSV only"), "{:?}", text(&o));
    assert!(!dir.join("x.gpkg").exists());
}
