//! Helpers for the end-to-end tests: find the built binary, run it.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The `funkplan` binary under test: `$FUNKPLAN_BIN` (set by scripts/test),
/// else the debug build next to this crate.
#[must_use]
pub fn bin() -> PathBuf {
    if let Some(p) = std::env::var_os("FUNKPLAN_BIN") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debug/funkplan")
}

/// Run `funkplan` with `args`, `DATABASE_URL` unset unless given in `env`.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(bin());
    // No grid snapshots unless a test asks for them (issue 24): the test
    // databases are thrown away, their snapshot files would stay behind.
    c.args(args).env_remove("DATABASE_URL").env("RUST_LOG", "warn").env("FUNKPLAN_NO_SNAPSHOT", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap_or_else(|e| panic!("running {}: {e}", bin().display()))
}

/// Run `funkplan` with `args` on the database at `url`; its stdout, or a
/// panic with its stderr when it fails.
#[allow(clippy::missing_panics_doc)]
pub fn ok(args: &[&str], url: &str) -> String {
    let o = run(args, &[("DATABASE_URL", url)]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "funkplan {args:?} failed: {err}");
    out
}

/// Which coverage the small demo is ingested with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoCoverage {
    /// `coverage.csv` as the one release the demo scripts date it
    /// (2026-10-01, issue 16).
    One,
    /// The demo's quarterly releases (`releases/*.csv`, oldest first, the
    /// later ones holding only what changed) in one `ingest coverage
    /// --partial`, as a rollout office keeps them.
    Releases,
}

/// `demo-data --scale small` into `dir` and every file of it ingested into
/// the database at `url`, its coverage as the release the demo scripts
/// date it (2026-10-01, issue 16): the data the end-to-end tests start from.
pub fn ingest_small_demo(dir: &str, url: &str) {
    ingest_small_demo_with(dir, url, DemoCoverage::One);
}

/// [`ingest_small_demo`] with the coverage chosen.
pub fn ingest_small_demo_with(dir: &str, url: &str, coverage: DemoCoverage) {
    ok(&["demo-data", "--scale", "small", dir], url);
    for (kind, file) in [
        ("municipalities", "municipalities.geojson"),
        ("households", "households.csv"),
        ("sites", "sites.csv"),
        ("measures", "measures.csv"),
    ] {
        ok(&["ingest", kind, &format!("{dir}/{file}")], url);
    }
    match coverage {
        DemoCoverage::One => {
            ok(&["ingest", "coverage", &format!("{dir}/coverage.csv"), "--as-of", "2026-10-01"], url);
        }
        DemoCoverage::Releases => {
            let mut releases: Vec<String> = std::fs::read_dir(format!("{dir}/releases"))
                .unwrap_or_else(|e| panic!("{dir}/releases: {e}"))
                .filter_map(|e| e.ok().map(|e| e.path().to_string_lossy().into_owned()))
                .collect();
            releases.sort();
            assert!(releases.len() >= 4, "the demo writes quarterly releases: {releases:?}");
            let mut args = vec!["ingest", "coverage"];
            args.extend(releases.iter().map(String::as_str));
            args.push("--partial");
            ok(&args, url);
        }
    }
}

/// Stdout and stderr as strings.
#[must_use]
pub fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// A minimal HTTP/1.0 GET on loopback returning (status, body). Enough for
/// end-to-end checks without pulling an HTTP client into the test crate.
pub fn http_get(addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\nAccept-Encoding: identity\r\n\r\n")?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok((status, body))
}

/// A free loopback port (bound and released; good enough for tests).
#[must_use]
pub fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").to_string()
}

/// Poll `GET path` until it answers 200 or `secs` pass.
#[must_use]
pub fn wait_http_ok(addr: &str, path: &str, secs: u64) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        if matches!(http_get(addr, path), Ok((200, _))) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    false
}

/// An HTTP/1.0 request on loopback with extra headers and an optional JSON
/// body; returns (status, headers as lower-case "name: value" lines, body).
/// The bytes of a request: `version` (`HTTP/1.0` or `HTTP/1.1`), no
/// compression asked for, a JSON body with its length when given.
#[must_use]
pub fn request(version: &str, addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> String {
    let mut req = format!("{method} {path} {version}\r\nHost: {addr}\r\nAccept-Encoding: identity\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    if let Some(b) = body {
        req.push_str(b);
    }
    req
}

pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> std::io::Result<(u16, Vec<String>, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    s.write_all(request("HTTP/1.0", addr, method, path, headers, body).as_bytes())?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0);
    let hdrs = lines.map(str::to_ascii_lowercase).collect();
    Ok((status, hdrs, body.to_owned()))
}

/// The value of header `name` (lower-case) in `headers` from [`http`].
#[must_use]
pub fn header<'a>(headers: &'a [String], name: &str) -> Option<&'a str> {
    headers.iter().find_map(|h| h.strip_prefix(name).and_then(|r| r.strip_prefix(':')).map(str::trim))
}

/// A `funkplan serve` on the database at `url` (no web app), stopped when
/// dropped.
pub struct Served {
    child: std::process::Child,
    /// Its address (`127.0.0.1:PORT`).
    pub addr: String,
}

impl Served {
    /// Start it and wait until `/healthz` answers (panics after `secs`).
    #[must_use]
    #[allow(clippy::missing_panics_doc)]
    pub fn start(url: &str, secs: u64) -> Self {
        let addr = free_addr();
        let child = Command::new(bin())
            .args(["serve", "--addr", &addr, "--web-dir", "/nonexistent/dist"])
            .env("DATABASE_URL", url)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin().display()));
        let served = Self { child, addr };
        assert!(wait_http_ok(&served.addr, "/healthz", secs), "funkplan serve did not come up within {secs} s");
        served
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
