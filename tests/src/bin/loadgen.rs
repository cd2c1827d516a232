//! `loadgen`: the load test of issue 8 against a running `funkplan serve`.
//!
//! N concurrent clients, each on its own keep-alive HTTP/1.1 connection,
//! for a fixed time: reads (targets, municipality figures, OGC items with a
//! bbox, the municipalities collection) and writes (site and measure
//! PATCHes with `If-Match`, re-reading and retrying on 412). Every write
//! sets `planned_date` to a date no other write uses, so afterwards the
//! final rows and the audit log can be checked against what the clients
//! were told: each acknowledged version exactly once, nothing unacknowledged,
//! the last acknowledged value is the one stored.
//!
//! `--mix issue20` is the mix of issue 20 ("writes under load"): 60 % OGC
//! site items in varied bboxes (cache misses), 30 % municipality figures,
//! 10 % PATCHes that move a site (`--write-share`), each client moving only sites of its own
//! (so no two writes race for one site and there is no 412). After every
//! acknowledged move the client reads the site's municipality and checks
//! that its figures were computed after the write (`computed_at` of the
//! OGC municipality ≥ the site's `updated_at` in the PATCH answer): the API
//! promises that a write answers only once its figures are updated.
//!
//! Prints a JSON report on stdout and exits non-zero on any 5xx, transport
//! error, unexpected status or verification failure.
//!
//! ```text
//! loadgen --addr 127.0.0.1:8080 --token fp_… [--clients 64] [--seconds 60]
//!         [--mix classic|issue20] [--write-share 0.2] [--write-keys 32] [--seed 1]
//! ```

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// What the clients do.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mix {
    /// Issue 8: targets, municipality figures, OGC bbox items, the
    /// municipalities collection, and If-Match PATCHes of `planned_date` on a
    /// few shared sites and measures (`--write-share`, `--write-keys`).
    Classic,
    /// Issue 20: 60 % OGC bbox items, 30 % municipality figures, 10 % moves
    /// of sites each client owns, each checked to be reflected in its
    /// municipality's figures when acknowledged.
    Issue20,
}

struct Args {
    addr: String,
    token: String,
    clients: usize,
    seconds: f64,
    mix: Mix,
    /// `None`: the mix's own (classic 0.2, issue 20 0.1).
    write_share: Option<f64>,
    write_keys: usize,
    seed: u64,
}

const USAGE: &str = "usage: loadgen --addr HOST:PORT --token TOKEN [--clients 64] [--seconds 60] [--mix classic|issue20] \
                     [--write-share 0.2] [--write-keys 32] [--seed 1]";

fn args() -> Result<Args, String> {
    let mut a = Args {
        addr: "127.0.0.1:8080".into(),
        token: String::new(),
        clients: 64,
        seconds: 60.0,
        mix: Mix::Classic,
        write_share: None,
        write_keys: 32,
        seed: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().ok_or_else(|| format!("{k} needs a value"));
        match k.as_str() {
            "--addr" => a.addr = v()?,
            "--token" => a.token = v()?,
            "--clients" => a.clients = v()?.parse().map_err(|e| format!("--clients: {e}"))?,
            "--seconds" => a.seconds = v()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--mix" => {
                a.mix = match v()?.as_str() {
                    "classic" => Mix::Classic,
                    "issue20" => Mix::Issue20,
                    other => return Err(format!("--mix: {other:?} is neither classic nor issue20")),
                }
            }
            "--write-share" => a.write_share = Some(v()?.parse().map_err(|e| format!("--write-share: {e}"))?),
            "--write-keys" => a.write_keys = v()?.parse().map_err(|e| format!("--write-keys: {e}"))?,
            "--seed" => a.seed = v()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.token.is_empty() {
        a.token = std::env::var("FUNKPLAN_TOKEN").unwrap_or_default();
    }
    if a.token.is_empty() {
        return Err("--token (or FUNKPLAN_TOKEN) is needed for the writes".into());
    }
    let valid = (1..=4096).contains(&a.clients) && a.seconds > 0.0 && a.seconds <= 3600.0 && a.write_share.is_none_or(|w| (0.0..=1.0).contains(&w));
    if !valid {
        return Err("--clients 1..4096, --seconds 0..3600, --write-share 0..1".into());
    }
    Ok(a)
}

/// One HTTP response.
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Result<Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| format!("status {}: body is not JSON ({e})", self.status))
    }
}

/// A keep-alive HTTP/1.1 connection (reopened when the server closes it).
struct Conn {
    addr: String,
    io: Option<BufReader<TcpStream>>,
}

impl Conn {
    fn new(addr: &str) -> Self {
        Self { addr: addr.to_owned(), io: None }
    }

    async fn request(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> io::Result<Resp> {
        // A reused connection the server has closed fails before any byte of
        // the answer: then (and only then) send once more on a fresh one.
        let reused = self.io.is_some();
        match self.once(method, path, headers, body).await {
            Err(e) if reused && matches!(e.kind(), io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe) => {
                self.io = None;
                self.once(method, path, headers, body).await
            }
            r => r,
        }
    }

    async fn once(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> io::Result<Resp> {
        if self.io.is_none() {
            let s = TcpStream::connect(&self.addr).await?;
            s.set_nodelay(true)?;
            self.io = Some(BufReader::new(s));
        }
        let io = self.io.as_mut().ok_or_else(|| io::Error::other("no connection"))?;
        let req = funkplan_e2e::request("HTTP/1.1", &self.addr, method, path, headers, body);
        let r = async {
            io.get_mut().write_all(req.as_bytes()).await?;
            read_response(io).await
        }
        .await;
        match &r {
            Ok(resp) if resp.header("connection").is_some_and(|c| c.eq_ignore_ascii_case("close")) => self.io = None,
            Err(_) => self.io = None,
            _ => {}
        }
        r
    }
}

async fn read_response(io: &mut BufReader<TcpStream>) -> io::Result<Resp> {
    let mut line = String::new();
    if io.read_line(&mut line).await? == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed before the status line"));
    }
    let status: u16 = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| io::Error::other(format!("bad status line {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if io.read_line(&mut line).await? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed in the headers"));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    if get("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        loop {
            line.clear();
            io.read_line(&mut line).await?;
            let n = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16).map_err(|e| io::Error::other(format!("chunk size: {e}")))?;
            if n == 0 {
                // Trailers end with an empty line.
                loop {
                    line.clear();
                    if io.read_line(&mut line).await? == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + n, 0);
            io.read_exact(&mut body[start..]).await?;
            line.clear();
            io.read_line(&mut line).await?;
        }
    } else if let Some(n) = get("content-length").and_then(|n| n.parse::<usize>().ok()) {
        body.resize(n, 0);
        io.read_exact(&mut body).await?;
    } else if !(status == 204 || status == 304 || (100..200).contains(&status)) {
        io.read_to_end(&mut body).await?;
    }
    Ok(Resp { status, headers, body })
}

/// xorshift64*: deterministic per client.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `YYYY-MM-DD` of day `n mod 3600` after 2027-01-01 (Hinnant's
/// civil-from-days): planned dates must lie within today + 10 years (the
/// API's window, funkplan_model::DateField), so the days cycle. A PATCH that
/// repeats the stored date is a no-op and recognised as one below.
fn date(n: u64) -> String {
    let z = 20_819 + (n % 3_600) as i64 + 719_468; // 2027-01-01 is day 20819 of the Unix epoch
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// What the clients were told about one resource.
#[derive(Default)]
struct Told {
    /// (version from the ETag of a 200, [`marker`] of the answer's body).
    acked: Vec<(i64, String)>,
    /// Writes whose outcome is unknown (transport error after sending).
    unknown: u64,
}

/// What a write changed, as the answer, the final row and the audit log's
/// `after` all show it: the fields the two mixes write.
fn marker(v: &Value) -> String {
    format!("{}|{}|{}", v["planned_date"], v["lon"], v["lat"])
}

/// Microseconds since 1970 of a PostgreSQL timestamp as JSON shows it
/// (`2026-12-07T04:10:00.123456+00:00`, fraction and offset minutes
/// optional, `Z` allowed).
fn micros(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b.get(4) != Some(&b'-') || !matches!(b.get(10), Some(b'T' | b' ')) {
        return None;
    }
    let mut i = 19;
    let mut frac = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let mut digits = 0;
        while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            if digits < 6 {
                frac = frac * 10 + i64::from(c - b'0');
                digits += 1;
            }
            i += 1;
        }
        frac *= 10i64.pow(6 - digits);
    }
    let offset_s = match b.get(i) {
        None | Some(b'Z') => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let oh = num(i + 1..i + 3)?;
            let om = if b.get(i + 3) == Some(&b':') { num(i + 4..i + 6)? } else { num(i + 3..i + 5).unwrap_or(0) };
            (oh * 3600 + om * 60) * if sign == b'-' { -1 } else { 1 }
        }
        Some(_) => return None,
    };
    // Hinnant's days-from-civil.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + h * 3600 + mi * 60 + se - offset_s) * 1_000_000) + frac)
}

#[derive(Default)]
struct Stats {
    /// Latency in microseconds per operation kind.
    latency: BTreeMap<&'static str, Vec<u32>>,
    status: BTreeMap<String, u64>,
    errors: Vec<String>,
    retries_412: u64,
    /// Acknowledged writes checked against their municipality's figures,
    /// and those whose figures were older than the write.
    reflection_checked: u64,
    reflection_failures: Vec<String>,
}

struct Shared {
    args: Args,
    sites: Vec<String>,
    measures: Vec<String>,
    ags: Vec<String>,
    points: Vec<(f64, f64)>,
    counter: AtomicU64,
    told: Mutex<HashMap<String, Told>>,
    /// Version and marker of each written resource before the run (filled
    /// before the run for the classic mix, by the owning client on its first
    /// read of a site for issue 20).
    initial: Mutex<HashMap<String, (i64, String)>>,
}

fn ok_json(r: io::Result<Resp>, what: &str) -> Result<Value, String> {
    let r = r.map_err(|e| format!("{what}: {e}"))?;
    if r.status != 200 {
        return Err(format!("{what}: status {} {}", r.status, String::from_utf8_lossy(&r.body)));
    }
    r.json().map_err(|e| format!("{what}: {e}"))
}

/// The ids, municipalities and positions the workload uses.
async fn discover(args: Args) -> Result<Shared, String> {
    let mut c = Conn::new(&args.addr);
    // Issue 20 moves sites of every status, as long as they lie in a
    // municipality (whose figures then show the move).
    let list = match args.mix {
        Mix::Classic => "/ogc/collections/sites/items?limit=10000&status=planned,permitting,construction",
        Mix::Issue20 => "/ogc/collections/sites/items?limit=10000",
    };
    let sites = ok_json(c.request("GET", list, &[], None).await, "listing sites")?;
    let mut site_ids = Vec::new();
    let mut points = Vec::new();
    for f in sites["features"].as_array().into_iter().flatten() {
        if let (Some(id), true) = (f["id"].as_str(), args.mix == Mix::Classic || f["properties"]["ags"].is_string()) {
            site_ids.push(id.to_owned());
        }
        if let (Some(x), Some(y)) = (f["geometry"]["coordinates"][0].as_f64(), f["geometry"]["coordinates"][1].as_f64()) {
            points.push((x, y));
        }
    }
    let measures = ok_json(c.request("GET", "/ogc/collections/measures/items?limit=10000&status=planned", &[], None).await, "listing measures")?;
    let measure_ids: Vec<String> = measures["features"].as_array().into_iter().flatten().filter_map(|f| f["id"].as_str().map(str::to_owned)).collect();
    let munis = ok_json(c.request("GET", "/api/v1/municipalities?limit=1000", &[], None).await, "listing municipalities")?;
    let ags: Vec<String> = munis.as_array().into_iter().flatten().filter_map(|m| m["ags"].as_str().map(str::to_owned)).collect();
    if site_ids.is_empty() || measure_ids.is_empty() || ags.is_empty() || points.is_empty() {
        return Err(format!("nothing to work on: {} sites, {} measures, {} municipalities", site_ids.len(), measure_ids.len(), ags.len()));
    }
    // Issue 20: every site, spread over the clients (`--write-keys` is for
    // the classic mix's shared keys).
    let k = if args.mix == Mix::Issue20 { usize::MAX } else { args.write_keys.max(1) };
    let sites: Vec<String> = site_ids.into_iter().take(k).collect();
    let measures: Vec<String> = measure_ids.into_iter().take(k).collect();
    // Dates should differ from earlier runs' too (a PATCH to the value
    // already stored changes nothing and keeps the version; such no-ops are
    // recognised below anyway): start from the clock, 10^4 days per second
    // mod 250 s (date() cycles within the API's window of planned dates).
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let base = (secs % 250) * 10_000;
    Ok(Shared {
        args,
        sites,
        measures,
        ags,
        points,
        counter: AtomicU64::new(base),
        told: Mutex::new(HashMap::new()),
        initial: Mutex::new(HashMap::new()),
    })
}

fn record(stats: &mut Stats, kind: &'static str, t0: Instant, r: &io::Result<Resp>) {
    let us = u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX);
    stats.latency.entry(kind).or_default().push(us);
    let key = match r {
        Ok(resp) => resp.status.to_string(),
        Err(_) => "transport".to_owned(),
    };
    *stats.status.entry(key).or_default() += 1;
}

async fn client(id: usize, sh: Arc<Shared>, end: Instant) -> Stats {
    let mut rng = Rng(sh.args.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (id as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03) | 1);
    if sh.args.mix == Mix::Issue20 {
        return issue20::client(id, &sh, end, rng).await;
    }
    let mut c = Conn::new(&sh.args.addr);
    let mut stats = Stats::default();
    let auth = format!("Bearer {}", sh.args.token);
    while Instant::now() < end {
        if rng.unit() < sh.args.write_share.unwrap_or(0.2) {
            let (coll, ids) = if rng.below(2) == 0 { ("sites", &sh.sites) } else { ("measures", &sh.measures) };
            let key = &ids[rng.below(ids.len())];
            let path = format!("/api/v1/{coll}/{key}");
            let mut attempts = 0;
            loop {
                attempts += 1;
                let t0 = Instant::now();
                let g = c.request("GET", &path, &[], None).await;
                record(&mut stats, "get_one", t0, &g);
                let tag = match &g {
                    Ok(r) if r.status == 200 => r.header("etag").unwrap_or_default().to_owned(),
                    Ok(r) => {
                        stats.errors.push(format!("GET {path}: {} {}", r.status, String::from_utf8_lossy(&r.body)));
                        break;
                    }
                    Err(e) => {
                        stats.errors.push(format!("GET {path}: {e}"));
                        break;
                    }
                };
                let d = date(sh.counter.fetch_add(1, Ordering::Relaxed));
                let body = format!(r#"{{"planned_date":"{d}"}}"#);
                let t0 = Instant::now();
                let r = c.request("PATCH", &path, &[("Authorization", &auth), ("If-Match", &tag)], Some(&body)).await;
                record(&mut stats, if coll == "sites" { "patch_site" } else { "patch_measure" }, t0, &r);
                match r {
                    Ok(r) if r.status == 200 => {
                        let v: i64 = r.header("etag").map(|t| t.trim_matches('"')).and_then(|t| t.parse().ok()).unwrap_or(-1);
                        let sent: i64 = tag.trim_matches('"').parse().unwrap_or(-2);
                        let body = r.json().unwrap_or(Value::Null);
                        if body["planned_date"].as_str() != Some(d.as_str()) {
                            stats.errors.push(format!("PATCH {path}: sent planned_date {d}, answer has {}", body["planned_date"]));
                        }
                        // The same version back: the value was already stored, nothing changed.
                        if v != sent {
                            if let Ok(mut told) = sh.told.lock() {
                                told.entry(path.clone()).or_default().acked.push((v, marker(&body)));
                            }
                        }
                        break;
                    }
                    Ok(r) if r.status == 412 => {
                        stats.retries_412 += 1;
                        if attempts >= 50 {
                            stats.errors.push(format!("PATCH {path}: still 412 after {attempts} attempts"));
                            break;
                        }
                    }
                    Ok(r) => {
                        stats.errors.push(format!("PATCH {path}: {} {}", r.status, String::from_utf8_lossy(&r.body)));
                        break;
                    }
                    Err(e) => {
                        if let Ok(mut told) = sh.told.lock() {
                            told.entry(path.clone()).or_default().unknown += 1;
                        }
                        stats.errors.push(format!("PATCH {path}: {e}"));
                        break;
                    }
                }
            }
        } else {
            let (kind, path): (&'static str, String) = match rng.below(10) {
                0..=2 => ("targets", "/api/v1/targets".into()),
                3..=5 => ("municipality", format!("/api/v1/municipalities/{}", sh.ags[rng.below(sh.ags.len())])),
                6..=8 => {
                    let (x, y) = sh.points[rng.below(sh.points.len())];
                    let d = 0.005 + rng.unit() * 0.03;
                    ("ogc_bbox", format!("/ogc/collections/sites/items?bbox={:.5},{:.5},{:.5},{:.5}&limit=100", x - d, y - d, x + d, y + d))
                }
                _ => ("ogc_municipalities", "/ogc/collections/municipalities/items?limit=1000".into()),
            };
            let t0 = Instant::now();
            let r = c.request("GET", &path, &[], None).await;
            record(&mut stats, kind, t0, &r);
            match &r {
                Ok(resp) if resp.status == 200 => {}
                Ok(resp) => stats.errors.push(format!("GET {path}: {} {}", resp.status, String::from_utf8_lossy(&resp.body).chars().take(200).collect::<String>())),
                Err(e) => stats.errors.push(format!("GET {path}: {e}")),
            }
        }
    }
    stats
}

/// The mix of issue 20 ("writes under load").
mod issue20 {
    use std::collections::HashMap;
    use std::time::Instant;

    use serde_json::Value;

    use super::{marker, micros, record, Conn, Rng, Shared, Stats};

    /// How far a move goes east and back (degrees of longitude, ~35 m):
    /// enough to change the cells a site covers, small enough to stay in
    /// its municipality most of the time.
    const STEP: f64 = 0.0005;

    /// A site this client owns: its ETag and where it started.
    struct Owned {
        etag: String,
        home: (f64, f64),
        away: bool,
    }

    pub(super) async fn client(id: usize, sh: &Shared, end: Instant, mut rng: Rng) -> Stats {
        let mut c = Conn::new(&sh.args.addr);
        let mut stats = Stats::default();
        let auth = format!("Bearer {}", sh.args.token);
        // Distinct sites: client `id` writes only sites `id`, `id + clients`, …
        let mine: Vec<&String> = sh.sites.iter().skip(id).step_by(sh.args.clients).collect();
        let mut owned: HashMap<String, Owned> = HashMap::new();
        let mut next = 0usize;
        let write_share = sh.args.write_share.unwrap_or(0.1);
        while Instant::now() < end {
            if rng.unit() < write_share && !mine.is_empty() {
                let site = mine[next % mine.len()];
                next += 1;
                move_site(sh, &mut c, &mut stats, &auth, site, &mut owned).await;
                continue;
            }
            // The reads: OGC items and municipality figures 2 : 1.
            let (kind, path): (&'static str, String) = if rng.below(3) < 2 {
                let (x, y) = sh.points[rng.below(sh.points.len())];
                let d = 0.005 + rng.unit() * 0.03;
                ("ogc_bbox", format!("/ogc/collections/sites/items?bbox={:.5},{:.5},{:.5},{:.5}&limit=100", x - d, y - d, x + d, y + d))
            } else {
                ("municipality", format!("/api/v1/municipalities/{}", sh.ags[rng.below(sh.ags.len())]))
            };
            let t0 = Instant::now();
            let r = c.request("GET", &path, &[], None).await;
            record(&mut stats, kind, t0, &r);
            match &r {
                Ok(resp) if resp.status == 200 => {}
                Ok(resp) => stats.errors.push(format!("GET {path}: {} {}", resp.status, String::from_utf8_lossy(&resp.body).chars().take(200).collect::<String>())),
                Err(e) => stats.errors.push(format!("GET {path}: {e}")),
            }
        }
        stats
    }

    /// Read a site (first use, or after a 412): its ETag and position.
    async fn read(sh: &Shared, c: &mut Conn, stats: &mut Stats, path: &str) -> Option<(String, Value)> {
        let t0 = Instant::now();
        let g = c.request("GET", path, &[], None).await;
        record(stats, "get_one", t0, &g);
        match g {
            Ok(r) if r.status == 200 => {
                let tag = r.header("etag").unwrap_or_default().to_owned();
                match r.json() {
                    Ok(v) => {
                        if let Ok(mut initial) = sh.initial.lock() {
                            initial.entry(path.to_owned()).or_insert_with(|| (v["version"].as_i64().unwrap_or(0), marker(&v)));
                        }
                        Some((tag, v))
                    }
                    Err(e) => {
                        stats.errors.push(format!("GET {path}: {e}"));
                        None
                    }
                }
            }
            Ok(r) => {
                stats.errors.push(format!("GET {path}: {} {}", r.status, String::from_utf8_lossy(&r.body)));
                None
            }
            Err(e) => {
                stats.errors.push(format!("GET {path}: {e}"));
                None
            }
        }
    }

    /// Move one of the client's sites east or back, then check that its
    /// municipality's figures are at least as new as the write.
    async fn move_site(sh: &Shared, c: &mut Conn, stats: &mut Stats, auth: &str, site: &str, owned: &mut HashMap<String, Owned>) {
        let path = format!("/api/v1/sites/{site}");
        if !owned.contains_key(site) {
            let Some((etag, v)) = read(sh, c, stats, &path).await else { return };
            let (Some(lon), Some(lat)) = (v["lon"].as_f64(), v["lat"].as_f64()) else {
                stats.errors.push(format!("GET {path}: no lon/lat in {v}"));
                return;
            };
            owned.insert(site.to_owned(), Owned { etag, home: (lon, lat), away: false });
        }
        for attempt in 1..=5 {
            let Some(o) = owned.get_mut(site) else { return };
            let lon = if o.away { o.home.0 } else { o.home.0 + STEP };
            let body = format!(r#"{{"lon":{lon:.6},"lat":{:.6}}}"#, o.home.1);
            let t0 = Instant::now();
            let r = c.request("PATCH", &path, &[("Authorization", auth), ("If-Match", &o.etag)], Some(&body)).await;
            record(stats, "patch_site", t0, &r);
            match r {
                Ok(r) if r.status == 200 => {
                    let v: i64 = r.header("etag").map(|t| t.trim_matches('"')).and_then(|t| t.parse().ok()).unwrap_or(-1);
                    let after = r.json().unwrap_or(Value::Null);
                    o.etag = r.header("etag").unwrap_or_default().to_owned();
                    o.away = !o.away;
                    if let Ok(mut told) = sh.told.lock() {
                        told.entry(path.clone()).or_default().acked.push((v, marker(&after)));
                    }
                    check_reflected(c, stats, &path, &after).await;
                    return;
                }
                Ok(r) if r.status == 412 => {
                    // Nobody else writes this site; still, re-read and retry.
                    stats.retries_412 += 1;
                    let Some((etag, _)) = read(sh, c, stats, &path).await else { return };
                    o.etag = etag;
                    if attempt == 5 {
                        stats.errors.push(format!("PATCH {path}: still 412 after {attempt} attempts"));
                    }
                }
                Ok(r) => {
                    stats.errors.push(format!("PATCH {path}: {} {}", r.status, String::from_utf8_lossy(&r.body)));
                    return;
                }
                Err(e) => {
                    if let Ok(mut told) = sh.told.lock() {
                        told.entry(path.clone()).or_default().unknown += 1;
                    }
                    stats.errors.push(format!("PATCH {path}: {e}"));
                    return;
                }
            }
        }
    }

    /// The write answered: its municipality's figures must have been
    /// computed by a results transaction that began after the write's own
    /// (`computed_at ≥ updated_at`, both the database's clock). A site
    /// outside every municipality has no figures to check.
    async fn check_reflected(c: &mut Conn, stats: &mut Stats, path: &str, after: &Value) {
        let Some(ags) = after["ags"].as_str() else { return };
        let Some(written) = after["updated_at"].as_str().and_then(micros) else {
            stats.errors.push(format!("PATCH {path}: no readable updated_at in the answer {after}"));
            return;
        };
        let muni = format!("/ogc/collections/municipalities/items/{ags}");
        let t0 = Instant::now();
        let r = c.request("GET", &muni, &[], None).await;
        record(stats, "check_municipality", t0, &r);
        let figures = match r {
            Ok(r) if r.status == 200 => r.json().unwrap_or(Value::Null),
            Ok(r) => {
                stats.errors.push(format!("GET {muni}: {} {}", r.status, String::from_utf8_lossy(&r.body)));
                return;
            }
            Err(e) => {
                stats.errors.push(format!("GET {muni}: {e}"));
                return;
            }
        };
        stats.reflection_checked += 1;
        let computed = figures["properties"]["computed_at"].as_str();
        if computed.and_then(micros).is_none_or(|t| t < written) {
            stats.reflection_failures.push(format!(
                "{path}: acknowledged (updated_at {}) but {ags}'s figures were computed at {}",
                after["updated_at"],
                computed.unwrap_or("(none)")
            ));
        }
    }
}

/// Check the final rows and the audit log against what the clients were told.
async fn verify(sh: &Shared) -> Vec<String> {
    let mut bad = Vec::new();
    let mut c = Conn::new(&sh.args.addr);
    let auth = format!("Bearer {}", sh.args.token);
    let initial = sh.initial.lock().map(|m| m.clone()).unwrap_or_default();
    let Ok(told) = sh.told.lock().map(|t| t.iter().map(|(k, v)| (k.clone(), (v.acked.clone(), v.unknown))).collect::<Vec<_>>()) else {
        return vec!["lock poisoned".into()];
    };
    for (path, (mut acked, unknown)) in told {
        acked.sort();
        let (v0, _) = initial.get(&path).cloned().unwrap_or((0, String::new()));
        let mut seen = std::collections::HashSet::new();
        for (v, _) in &acked {
            if !seen.insert(*v) {
                bad.push(format!("{path}: version {v} acknowledged twice (a lost update)"));
            }
        }
        let final_row = match ok_json(c.request("GET", &path, &[], None).await, "final GET") {
            Ok(v) => v,
            Err(e) => {
                bad.push(e);
                continue;
            }
        };
        let vf = final_row["version"].as_i64().unwrap_or(-1);
        if unknown == 0 && vf != v0 + acked.len() as i64 {
            bad.push(format!("{path}: version went {v0} → {vf} but {} writes were acknowledged", acked.len()));
        }
        if let Some((vl, ml)) = acked.last() {
            if *vl != vf || marker(&final_row) != *ml {
                bad.push(format!("{path}: last acknowledged ({vl}, {ml}) but stored ({vf}, {})", marker(&final_row)));
            }
        }
        // The audit log: one update per acknowledged write, with that value.
        let (entity, id) = path.trim_start_matches("/api/v1/").split_once('/').unwrap_or(("", ""));
        let entity = entity.trim_end_matches('s');
        let mut items = Vec::new();
        let mut offset = 0;
        loop {
            let page = format!("/api/v1/audit?entity={entity}&entity_id={id}&limit=1000&offset={offset}");
            match ok_json(c.request("GET", &page, &[("Authorization", &auth)], None).await, "audit") {
                Ok(v) => {
                    let page = v["items"].as_array().cloned().unwrap_or_default();
                    offset += page.len();
                    let more = !v["next"].is_null() && !page.is_empty();
                    items.extend(page);
                    if !more {
                        break;
                    }
                }
                Err(e) => {
                    bad.push(e);
                    break;
                }
            }
        }
        let audit = serde_json::json!({ "items": items });
        let mut logged: Vec<(i64, String)> = audit["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["action"] == "update" && e["after"]["version"].as_i64().is_some_and(|v| v > v0))
            .map(|e| (e["after"]["version"].as_i64().unwrap_or(-1), marker(&e["after"])))
            .collect();
        logged.sort();
        if unknown == 0 && logged != acked {
            bad.push(format!("{path}: audit has {} updates, clients were told {}; first difference: {:?}", logged.len(), acked.len(), logged.iter().zip(&acked).find(|(a, b)| a != b)));
        }
    }
    bad
}

fn pct(v: &[u32], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    f64::from(v[i.min(v.len() - 1)]) / 1000.0
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let sh = match discover(args).await {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // Versions before the run, to count the writes since (issue 20: each
    // client reads its sites itself).
    let mut c = Conn::new(&sh.args.addr);
    let keys = if sh.args.mix == Mix::Classic { vec![("sites", &sh.sites), ("measures", &sh.measures)] } else { Vec::new() };
    for (coll, ids) in keys {
        for id in ids.iter() {
            let path = format!("/api/v1/{coll}/{id}");
            if let Ok(v) = ok_json(c.request("GET", &path, &[], None).await, "initial GET") {
                if let Ok(mut initial) = sh.initial.lock() {
                    initial.insert(path, (v["version"].as_i64().unwrap_or(0), marker(&v)));
                }
            }
        }
    }
    let started = Instant::now();
    let end = started + Duration::from_secs_f64(sh.args.seconds);
    let tasks: Vec<_> = (0..sh.args.clients).map(|i| tokio::spawn(client(i, sh.clone(), end))).collect();
    let mut all = Stats::default();
    for t in tasks {
        match t.await {
            Ok(s) => {
                for (k, mut v) in s.latency {
                    all.latency.entry(k).or_default().append(&mut v);
                }
                for (k, n) in s.status {
                    *all.status.entry(k).or_default() += n;
                }
                all.errors.extend(s.errors);
                all.retries_412 += s.retries_412;
                all.reflection_checked += s.reflection_checked;
                all.reflection_failures.extend(s.reflection_failures);
            }
            Err(e) => all.errors.push(format!("client task failed: {e}")),
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let mut problems = verify(&sh).await;
    problems.extend(all.reflection_failures.iter().take(20).cloned());
    if all.reflection_failures.len() > 20 {
        problems.push(format!("… and {} more writes not reflected when acknowledged", all.reflection_failures.len() - 20));
    }
    let mut every: Vec<u32> = all.latency.values().flatten().copied().collect();
    every.sort_unstable();
    let mut per_kind = serde_json::Map::new();
    for (k, v) in &mut all.latency {
        v.sort_unstable();
        per_kind.insert((*k).to_owned(), serde_json::json!({"count": v.len(), "p50_ms": pct(v, 0.5), "p99_ms": pct(v, 0.99), "max_ms": pct(v, 1.0)}));
    }
    let fivexx: u64 = all.status.iter().filter(|(k, _)| k.starts_with('5')).map(|(_, n)| n).sum();
    let acked: usize = sh.told.lock().map(|t| t.values().map(|v| v.acked.len()).sum()).unwrap_or(0);
    let report = serde_json::json!({
        "clients": sh.args.clients,
        "seconds": wall,
        "requests": every.len(),
        "requests_per_s": every.len() as f64 / wall,
        "p50_ms": pct(&every, 0.5),
        "p99_ms": pct(&every, 0.99),
        "max_ms": pct(&every, 1.0),
        "status": all.status,
        "5xx": fivexx,
        "mix": if sh.args.mix == Mix::Issue20 { "issue20" } else { "classic" },
        "writes_acknowledged": acked,
        "writes_per_s": acked as f64 / wall,
        "writes_reflection_checked": all.reflection_checked,
        "writes_not_reflected": all.reflection_failures.len(),
        "retries_412": all.retries_412,
        "write_keys": {"sites": sh.sites.len(), "measures": sh.measures.len()},
        "per_kind": per_kind,
        "errors": all.errors.len(),
        "first_errors": all.errors.iter().take(10).collect::<Vec<_>>(),
        "verification_failures": problems,
    });
    println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    let unchecked = sh.args.mix == Mix::Issue20 && all.reflection_checked == 0;
    if fivexx > 0 || !all.errors.is_empty() || !problems.is_empty() || acked == 0 || unchecked {
        eprintln!("loadgen: FAILED ({fivexx} 5xx, {} errors, {} verification failures, {acked} writes)", all.errors.len(), problems.len());
        return std::process::ExitCode::FAILURE;
    }
    eprintln!(
        "loadgen: ok — {} requests in {wall:.1} s ({:.0}/s) from {} clients, p99 {:.1} ms, {acked} writes verified, {} retries on 412",
        every.len(),
        every.len() as f64 / wall,
        sh.args.clients,
        pct(&every, 0.99),
        all.retries_412
    );
    std::process::ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::{date, micros};

    #[test]
    fn timestamps() {
        assert_eq!(micros("1970-01-01T00:00:00+00:00"), Some(0));
        assert_eq!(micros("1970-01-01T00:00:01.5Z"), Some(1_500_000));
        assert_eq!(micros("1970-01-01T01:00:00.000001+01:00"), Some(1));
        assert_eq!(micros("2026-12-07T04:10:00.123456+00:00"), Some(1_796_616_600_123_456));
        assert!(micros("2026-12-07T04:10:00.123457+00:00") > micros("2026-12-07T04:10:00.123456+00:00"));
        assert_eq!(micros("not a time"), None);
    }

    #[test]
    fn dates() {
        assert_eq!(date(0), "2027-01-01");
        assert_eq!(date(31 + 28), "2027-03-01");
        assert_eq!(date(365), "2028-01-01");
        assert_eq!(date(365 + 59), "2028-02-29");
        assert_eq!(date(3_599), "2036-11-08");
        assert_eq!(date(3_600), date(0));
    }
}
