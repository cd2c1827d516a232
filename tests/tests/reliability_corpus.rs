//! Bad input (issue 8): every file of `tests/corpus/` is refused with a
//! clear error naming the place, a non-zero exit and a database that is
//! byte-for-byte unchanged (checksums of every table before and after).
//! The huge cases (a 10^6-vertex polygon, a 1 GB line without a newline)
//! are generated into a temporary directory at test time and must also
//! stay within bounded memory (peak RSS of the child from /proc).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod reliability_common;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use reliability_common::{changed, spawn_funkplan, Loaded, TempDir};

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

struct Entry {
    kind: String,
    file: String,
    args: Vec<String>,
    fragments: Vec<String>,
}

fn manifest() -> Vec<Entry> {
    let text = std::fs::read_to_string(corpus().join("expect.txt")).unwrap();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut parts = l.split(" :: ");
            let head: Vec<String> = parts.next().unwrap().split_whitespace().map(str::to_owned).collect();
            let fragments: Vec<String> = parts.map(str::to_owned).collect();
            assert!(head.len() >= 2 && !fragments.is_empty(), "bad manifest line: {l}");
            Entry { kind: head[0].clone(), file: head[1].clone(), args: head[2..].to_vec(), fragments }
        })
        .collect()
}

/// Run `funkplan args` and report (exit ok, stderr, peak RSS in KiB from
/// VmHWM, polled every 10 ms while the child lives); killed after `limit`
/// seconds, which reads as a failure with "hangs" on stderr.
fn run_measured(args: &[&str], url: &str) -> (bool, String, u64) {
    run_limited(args, url, 240)
}

fn run_limited(args: &[&str], url: &str, limit: u64) -> (bool, String, u64) {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let err_path = std::env::temp_dir().join(format!("funkplan-rel-stderr-{}-{n}", std::process::id()));
    let err_file = std::fs::File::create(&err_path).unwrap();
    let mut child = spawn_funkplan(args, url, err_file);
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    let started = std::time::Instant::now();
    let status = loop {
        if let Ok(s) = std::fs::read_to_string(&status_path) {
            if let Some(kb) = s.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()) {
                peak = peak.max(kb);
            }
        }
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if started.elapsed().as_secs() >= limit {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_file(&err_path);
            return (false, format!("funkplan {args:?} hangs: killed after {limit} s\n"), peak);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let _ = std::fs::remove_file(&err_path);
    (status.success(), stderr, peak)
}

/// The last stderr line is the one-line reason.
fn check_refusal(what: &str, ok: bool, stderr: &str, fragments: &[&str]) -> Vec<String> {
    let mut bad = Vec::new();
    if ok {
        bad.push(format!("{what}: exit code 0 (accepted); stderr: {stderr}"));
        return bad;
    }
    if stderr.contains("panicked") {
        bad.push(format!("{what}: panicked: {stderr}"));
    }
    let last = stderr.lines().last().unwrap_or_default();
    if !last.starts_with("error: ") {
        bad.push(format!("{what}: last stderr line is not 'error: …': {last}"));
    }
    for f in fragments {
        if !stderr.contains(f) {
            bad.push(format!("{what}: stderr lacks {f:?}; stderr: {}", stderr.chars().take(1500).collect::<String>()));
        }
    }
    bad
}

#[test]
fn every_corpus_file_is_refused_with_its_place_and_changes_nothing() {
    let entries = manifest();
    // Every committed file has an expectation, and every expectation a file.
    for kind in ["municipalities", "households", "sites", "measures", "coverage"] {
        for f in std::fs::read_dir(corpus().join(kind)).unwrap() {
            let name = f.unwrap().file_name().to_string_lossy().into_owned();
            assert!(entries.iter().any(|e| e.kind == kind && e.file == name), "{kind}/{name} has no line in expect.txt");
        }
    }
    let l = Loaded::new("corpus");
    let before = l.checksums();
    assert!(before.values().filter(|v| !v.starts_with("0 ")).count() >= 12, "fixture left tables empty: {before:?}");
    let mut failures = Vec::new();
    for e in &entries {
        let path = corpus().join(&e.kind).join(&e.file);
        assert!(path.is_file(), "{} listed but missing", path.display());
        let mut args = vec!["ingest", e.kind.as_str(), path.to_str().unwrap()];
        args.extend(e.args.iter().map(String::as_str));
        if e.kind == "coverage" && !args.contains(&"--as-of") {
            // A dated release (issue 16), so the file's own faults are what is refused.
            args.extend(["--as-of", "2026-10-01"]);
        }
        let (ok, stderr, _) = run_limited(&args, &l.url, 60);
        let what = format!("{}/{}", e.kind, e.file);
        let mut frags: Vec<&str> = e.fragments.iter().map(String::as_str).collect();
        frags.push(&e.file); // the error names the file
        failures.extend(check_refusal(&what, ok, &stderr, &frags));
        let after = l.checksums();
        let diff = changed(&before, &after);
        if !diff.is_empty() {
            failures.push(format!("{what}: changed tables {diff:?}"));
            // Later files are compared against the state they found.
            break;
        }
    }
    assert!(failures.is_empty(), "{} corpus failures:\n{}", failures.len(), failures.join("\n"));
    // The database still answers and the fixture's data is there.
    assert_eq!(l.query_i64("SELECT count(*) FROM site"), 48);
}

/// A file of `size` bytes: `head`, then zero bytes (sparse, so nothing is
/// written to disk) with no newline anywhere after `head`.
fn sparse(path: &Path, head: &[u8], size: u64) {
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(head).unwrap();
    f.set_len(size).unwrap();
}

/// Peak memory allowed for a refused huge file (KiB).
const BOUNDED_KB: u64 = 256 * 1024;

#[test]
fn huge_line_without_newline_is_refused_in_bounded_memory() {
    let l = Loaded::new("hugeline");
    let tmp = TempDir::new("hugeline");
    let before = l.checksums();
    let gib = 1u64 << 30;
    let cases: [(&str, &str, &[u8], &[&str]); 3] = [
        ("households", "households_1gb.csv", b"GITTER_ID_100m,households\n", &["line 2"]),
        ("sites", "sites_1gb.csv", b"site_id,operator,lon,lat,status\n", &["line 2"]),
        ("municipalities", "municipalities_1gb.geojson", b"{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{\"GEN\":\"", &[]),
    ];
    let mut failures = Vec::new();
    for (kind, name, head, frags) in cases {
        let p = tmp.path(name);
        sparse(&p, head, gib);
        let (ok, stderr, peak) = run_measured(&["ingest", kind, p.to_str().unwrap()], &l.url);
        let _ = std::fs::remove_file(&p);
        let mut want = frags.to_vec();
        want.push(name);
        failures.extend(check_refusal(name, ok, &stderr, &want));
        println!("{name}: peak RSS {peak} KiB; {}", stderr.lines().last().unwrap_or_default().chars().take(300).collect::<String>());
        if peak > BOUNDED_KB {
            failures.push(format!("{name}: peak RSS {peak} KiB > {BOUNDED_KB} KiB for a refused 1 GiB file"));
        }
    }
    let diff = changed(&before, &l.checksums());
    assert!(diff.is_empty(), "tables changed: {diff:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn million_vertex_bowtie_is_refused_in_bounded_memory() {
    let l = Loaded::new("bigpoly");
    let tmp = TempDir::new("bigpoly");
    // A star-shaped ring of 10^6 vertices around (349000, 5677000) in
    // EPSG:25832 with two vertices swapped, so it crosses itself.
    let n = 1_000_000usize;
    let mut pts: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let a = std::f64::consts::TAU * i as f64 / n as f64;
            let r = if i % 2 == 0 { 900.0 } else { 882.0 };
            (349_000.0 + r * a.cos(), 5_677_000.0 + r * a.sin())
        })
        .collect();
    pts.swap(10, n / 2);
    pts.push(pts[0]);
    let p = tmp.path("million_vertices.geojson");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
        write!(f, r#"{{"type":"FeatureCollection","crs":{{"type":"name","properties":{{"name":"urn:ogc:def:crs:EPSG::25832"}}}},"features":[{{"type":"Feature","properties":{{"AGS":"05115000","GEN":"Neuss"}},"geometry":{{"type":"Polygon","coordinates":[["#).unwrap();
        for (i, (x, y)) in pts.iter().enumerate() {
            write!(f, "{}[{x:.3},{y:.3}]", if i == 0 { "" } else { "," }).unwrap();
        }
        write!(f, "]]}}}}]}}").unwrap();
    }
    let before = l.checksums();
    let (ok, stderr, peak) = run_measured(&["ingest", "municipalities", p.to_str().unwrap()], &l.url);
    println!("10^6 vertices: peak RSS {peak} KiB");
    let failures = check_refusal("million_vertices.geojson", ok, &stderr, &["million_vertices.geojson: feature 1: field `geometry`", "Self-intersection"]);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(peak < 1024 * 1024, "peak RSS {peak} KiB for a 25 MB file");
    let diff = changed(&before, &l.checksums());
    assert!(diff.is_empty(), "tables changed: {diff:?}");
}

/// Writes the fixture to `$FUNKPLAN_FIXTURE_OUT` (for crafting corpus files by hand).
#[test]
#[ignore = "tool: writes the fixture files to $FUNKPLAN_FIXTURE_OUT"]
fn write_fixture_files() {
    let out = std::env::var("FUNKPLAN_FIXTURE_OUT").expect("FUNKPLAN_FIXTURE_OUT");
    std::fs::create_dir_all(&out).unwrap();
    reliability_common::write_fixture(Path::new(&out));
}
