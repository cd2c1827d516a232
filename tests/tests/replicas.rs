//! Issue 25 end to end: a primary and a hot standby made here the way
//! docs/deployment.md makes them (`initdb`, `pg_basebackup -R`, `pg_ctl`,
//! each on its own socket directory and port), two `funkplan serve` nodes
//! reading from the standby, and every failure case of the issue:
//!
//! - a write through node A is read back through node B with its
//!   consistency token, and without it within a generous bound (the time
//!   is printed; the 100 ms target is the benchmark's, not a timed test);
//! - node B's engine follows node A's write (its figures at today's date
//!   come from its own memory);
//! - the standby stopped: reads answer from the primary; started again: it
//!   is back in rotation;
//! - replay delayed (`recovery_min_apply_delay`) past the allowed lag: out
//!   of rotation, and back once the delay is gone;
//! - the primary stopped: writes answer 503 with `Retry-After`, reads from
//!   the standby still answer.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use funkplan_e2e::{bin, free_addr, header, http, ingest_small_demo, ok, text};

/// Whether we are root: PostgreSQL refuses to run as root, so its
/// programs then run as the `postgres` user (as the embedded cluster does).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0")))
        .unwrap_or(false)
}

/// The newest `/usr/lib/postgresql/<major>/bin` (Debian keeps the server
/// programs off PATH), or `$FUNKPLAN_PG_BINDIR`.
fn pg_bin() -> PathBuf {
    if let Some(d) = std::env::var_os("FUNKPLAN_PG_BINDIR") {
        return PathBuf::from(d);
    }
    let mut best: Option<(u32, PathBuf)> = None;
    for e in std::fs::read_dir("/usr/lib/postgresql").expect("PostgreSQL server programs under /usr/lib/postgresql").flatten() {
        if let Some(m) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) {
            if e.path().join("bin/pg_basebackup").exists() && best.as_ref().is_none_or(|(b, _)| m > *b) {
                best = Some((m, e.path().join("bin")));
            }
        }
    }
    best.expect("no PostgreSQL with pg_basebackup installed").1
}

/// Run a PostgreSQL program (as `postgres` when root); its output.
fn pg(program: &str, args: &[&str]) -> Output {
    let exe = pg_bin().join(program);
    let mut c = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    c.args(args).current_dir("/").env("LC_ALL", "C").stdin(Stdio::null());
    c.output().unwrap_or_else(|e| panic!("running {}: {e}", exe.display()))
}

fn pg_ok(program: &str, args: &[&str]) {
    let o = pg(program, args);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{program} {args:?} failed: {out}{err}");
}

/// One PostgreSQL server of the test: data directory, socket directory
/// (the same), port.
struct Pg {
    dir: PathBuf,
    port: u16,
}

impl Pg {
    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }
    fn url(&self, db: &str) -> String {
        format!("postgresql://postgres@/{db}?host={}&port={}", self.dir.display(), self.port)
    }
    fn start(&self) {
        let opts = format!("-p {} -k {} -c listen_addresses='' -c fsync=off", self.port, self.dir.display());
        let log = self.dir.join("log").display().to_string();
        pg_ok("pg_ctl", &["-D", &self.data(), "-l", &log, "-o", &opts, "-w", "-t", "60", "start"]);
    }
    fn stop(&self) {
        let _ = pg("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "-t", "60", "stop"]);
    }
    fn reload(&self) {
        pg_ok("pg_ctl", &["-D", &self.data(), "reload"]);
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A directory `postgres` can use, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let p = std::env::temp_dir().join(format!("funkplan-replicas-{}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    /// A subdirectory owned by `postgres` when root.
    fn sub(&self, name: &str) -> PathBuf {
        let d = self.0.join(name);
        std::fs::create_dir_all(&d).unwrap();
        if is_root() {
            let st = Command::new("chown").arg("postgres:postgres").arg(&d).status().unwrap();
            assert!(st.success(), "chown {} to postgres", d.display());
        }
        d
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0)
}

fn free_port() -> u16 {
    free_addr().rsplit_once(':').unwrap().1.parse().unwrap()
}

/// The load balancer process, stopped at the end.
struct Lb(Child);

impl Drop for Lb {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Server {
    child: Child,
    addr: String,
    log: PathBuf,
}

impl Server {
    fn start(name: &str, scratch: &Path, primary: &str, standby: &str) -> Self {
        let addr = free_addr();
        let log = scratch.join(format!("{name}.log"));
        let child = Command::new(bin())
            .args(["serve", "--addr", &addr, "--pool-size", "4"])
            .env("DATABASE_URL", primary)
            .env("DATABASE_READ_URL", standby)
            .env("FUNKPLAN_MAX_REPLICA_LAG", "1s")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Self { child, addr, log }
    }
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

fn health(addr: &str) -> serde_json::Value {
    let (s, _, body) = http(addr, "GET", "/healthz", &[], None).unwrap();
    assert_eq!(s, 200, "healthz: {body}");
    json(&body)
}

/// Poll until `f` holds, at most `secs`; how long it took.
fn until(what: &str, secs: u64, mut f: impl FnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(secs) {
        if f() {
            return t0.elapsed();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("not within {secs} s: {what}");
}

fn in_rotation(h: &serde_json::Value) -> bool {
    h["standbys"][0]["in_rotation"] == true
}

/// A municipality's sites on air as node `addr` answers, with the
/// database that answered.
fn planned(addr: &str, ags: &str, token: Option<&str>) -> (u16, f64, Option<String>) {
    let hdrs: Vec<(&str, &str)> = token.map(|t| vec![("Funkplan-Consistency", t)]).unwrap_or_default();
    let (s, h, body) = http(addr, "GET", &format!("/api/v1/municipalities/{ags}"), &hdrs, None).unwrap();
    if s != 200 {
        return (s, -1.0, None);
    }
    let n = json(&body)["sites"]["on_air"].as_f64().unwrap_or(0.0);
    (s, n, header(&h, "funkplan-read-source").map(str::to_owned))
}

/// Which database answered a read that no cache can answer (each call
/// asks a URL not asked before): status and `Funkplan-Read-Source`.
fn source(addr: &str) -> (u16, Option<String>) {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let k = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    let (s, h, body) = http(addr, "GET", &format!("/api/v1/municipalities?q=0&limit={k}"), &[], None).unwrap();
    assert!(s == 200 || s == 503, "{body}");
    (s, header(&h, "funkplan-read-source").map(str::to_owned))
}

#[test]
fn two_nodes_read_from_a_hot_standby_and_survive_each_failure() {
    let t0 = Instant::now();
    let scratch = Scratch::new();

    // --- The primary: initdb, streaming replication is its default
    // (wal_level = replica, max_wal_senders = 10, local replication trusted).
    let primary = Pg { dir: scratch.sub("primary"), port: free_port() };
    let data = primary.data();
    pg_ok("initdb", &["-D", &data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"]);
    primary.start();
    let admin = primary.url("postgres");
    let url = primary.url("funkplan");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (c, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        c.batch_execute("CREATE DATABASE funkplan").await.unwrap();
    });

    eprintln!("replicas: {:>5.1} s, next: The small demo on it.", t0.elapsed().as_secs_f64());
    // --- The small demo on it.
    let demo = scratch.sub("demo");
    let d = demo.to_str().unwrap();
    ok(&["migrate"], &url);
    ok(&["seed"], &url);
    ingest_small_demo(d, &url);
    ok(&["recompute"], &url);
    let token = ok(&["token", "create", "--role", "staff"], &url).lines().last().unwrap().trim().to_owned();
    let auth = format!("Bearer {token}");

    eprintln!("replicas: {:>5.1} s, next: The hot standby", t0.elapsed().as_secs_f64());
    // --- The hot standby: pg_basebackup -R writes standby.signal and
    // primary_conninfo; it streams from the primary's socket.
    let standby = Pg { dir: scratch.sub("standby"), port: free_port() };
    let sdata = standby.data();
    let conninfo = format!("host={} port={} user=postgres", primary.dir.display(), primary.port);
    pg_ok("pg_basebackup", &["-D", &sdata, "-d", &conninfo, "-R", "-X", "stream", "-c", "fast"]);
    standby.start();

    let a = Server::start("node-a", &scratch.0, &url, &standby.url("funkplan"));
    let b = Server::start("node-b", &scratch.0, &url, &standby.url("funkplan"));
    for n in [&a, &b] {
        let up = Instant::now();
        while !matches!(http(&n.addr, "GET", "/healthz", &[], None), Ok((200, _, _))) {
            assert!(up.elapsed() < Duration::from_secs(120), "serve did not come up: {}", n.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        until("the standby in rotation", 30, || in_rotation(&health(&n.addr)));
    }
    let h = health(&b.addr);
    assert_eq!(h["primary"], "up", "{h}");
    assert!(h["standbys"][0]["lag_seconds"].as_f64().is_some(), "{h}");

    // The largest LTE dead spot: a site on air there changes the engine's
    // figures, so node B's engine can be seen following node A's write.
    let (ags, lon, lat): (String, f64, f64) = rt.block_on(async {
        let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        let r = c
            .query_one(
                "SELECT ags::text AS ags, ST_X(p) AS lon, ST_Y(p) AS lat FROM (SELECT ags, ST_Transform(ST_PointOnSurface(geom), 4326) AS p \
                 FROM dead_spot ORDER BY cells DESC, id LIMIT 1) d",
                &[],
            )
            .await
            .unwrap();
        (r.get("ags"), r.get("lon"), r.get("lat"))
    });
    let today = String::from_utf8(Command::new("date").args(["-u", "+%F"]).output().unwrap().stdout).unwrap().trim().to_owned();
    // The engine's figures at today's date (from the node's memory).
    let dated = |addr: &str| {
        let (s, _, body) = http(addr, "GET", &format!("/api/v1/municipalities/{ags}?as_of={today}"), &[], None).unwrap();
        assert_eq!(s, 200, "{body}");
        json(&body)["coverage"].clone()
    };
    let engine_before = dated(&b.addr);
    let (s, before, _) = planned(&b.addr, &ags, None);
    assert_eq!(s, 200);
    assert_eq!(source(&b.addr), (200, Some("standby-1".to_owned())), "node B reads from the standby");

    eprintln!("replicas: {:>5.1} s, next: Read your writes", t0.elapsed().as_secs_f64());
    // --- Read your writes: a site written through node A, read back
    // through node B with the token.
    let site = |id: &str| format!(r#"{{"site_id":"{id}","operator":"telekom","lon":{lon},"lat":{lat},"status":"on_air","technologies":["lte"]}}"#);
    let (s, h, body) = http(&a.addr, "POST", "/api/v1/sites", &[("Authorization", &auth)], Some(&site("REPL-1"))).unwrap();
    assert_eq!(s, 201, "{body}");
    let lsn = header(&h, "funkplan-consistency").expect("a write carries a consistency token").to_ascii_uppercase();
    assert!(lsn.contains('/'), "{lsn}");
    let (s, after, src) = planned(&b.addr, &ags, Some(&lsn));
    assert_eq!(s, 200);
    assert_eq!(after, before + 1.0, "node B with the token sees node A's write (answered by {src:?})");
    assert!(src.is_some(), "a database answered");
    let (s, _, body) = http(&b.addr, "GET", "/healthz", &[("Funkplan-Consistency", "not-an-lsn")], None).unwrap();
    assert_eq!(s, 400, "a malformed token is refused: {body}");
    assert!(body.contains("funkplan-consistency"), "{body}");

    eprintln!("replicas: {:>5.1} s, next: Eventual without the token", t0.elapsed().as_secs_f64());
    // --- Eventual without the token: the next write shows on node B by
    // itself (cache turned over, figures replayed).
    let (s, _, body) = http(&a.addr, "POST", "/api/v1/sites", &[("Authorization", &auth)], Some(&site("REPL-2"))).unwrap();
    assert_eq!(s, 201, "{body}");
    let took = until("node B shows node A's second write", 5, || planned(&b.addr, &ags, None).1 == before + 2.0);
    eprintln!("cross-node reflection without a token: {} ms (includes the test's polling)", took.as_millis());
    // Node B's engine followed them: its figures at today's date (from
    // its memory, not from the figures node A wrote) equal node A's.
    let engine_a = dated(&a.addr);
    assert_ne!(engine_a, engine_before, "a site on air in a dead spot moves the engine's figures");
    until("node B's engine follows node A's writes", 5, || dated(&b.addr) == engine_a);

    eprintln!("replicas: {:>5.1} s, next: Through HAProxy with docs/deployment/hap", t0.elapsed().as_secs_f64());
    // --- Through HAProxy with docs/deployment/haproxy.cfg as it is, only
    // the addresses replaced: a write and the reads after it, with the
    // token, land on either node and see the write.
    let lb_addr = free_addr();
    let cfg = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/deployment/haproxy.cfg"))
        .unwrap()
        .replace("*:80", &lb_addr)
        .replace("10.0.0.11:8080", &a.addr)
        .replace("10.0.0.12:8080", &b.addr);
    assert!(cfg.contains(&a.addr) && cfg.contains(&b.addr) && cfg.contains(&lb_addr), "{cfg}");
    let cfg_path = scratch.0.join("haproxy.cfg");
    std::fs::write(&cfg_path, cfg).unwrap();
    let lb = Lb(Command::new("haproxy")
        .arg("-db")
        .arg("-f")
        .arg(&cfg_path)
        .stdout(std::fs::File::create(scratch.0.join("haproxy.log")).unwrap())
        .stderr(std::fs::File::create(scratch.0.join("haproxy.err")).unwrap())
        .spawn()
        .expect("haproxy (scripts/test installs the Debian package) to run the load balancer of docs/deployment.md"));
    let lb_log = || std::fs::read_to_string(scratch.0.join("haproxy.err")).unwrap_or_default() + &std::fs::read_to_string(scratch.0.join("haproxy.log")).unwrap_or_default();
    let lb_started = Instant::now();
    while !matches!(http(&lb_addr, "GET", "/healthz", &[], None), Ok((200, _, _))) {
        assert!(lb_started.elapsed() < Duration::from_secs(20), "HAProxy does not forward to the nodes: {}", lb_log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let (s, h, body) = http(&lb_addr, "POST", "/api/v1/sites", &[("Authorization", &auth)], Some(&site("REPL-LB"))).unwrap();
    assert_eq!(s, 201, "{body}");
    let lsn = header(&h, "funkplan-consistency").unwrap().to_ascii_uppercase();
    for _ in 0..4 {
        let (s, n, _) = planned(&lb_addr, &ags, Some(&lsn));
        assert_eq!((s, n), (200, before + 3.0), "every read through the balancer with the token sees the write");
    }
    drop(lb);
    let before = before + 1.0;

    eprintln!("replicas: {:>5.1} s, next: The standby stopped", t0.elapsed().as_secs_f64());
    // --- The standby stopped: reads still answer, from the primary.
    standby.stop();
    until("node B takes the stopped standby out", 10, || !in_rotation(&health(&b.addr)));
    let (s, n, _) = planned(&b.addr, &ags, None);
    assert_eq!((s, n), (200, before + 2.0));
    assert_eq!(source(&b.addr), (200, Some("primary".to_owned())));
    assert!(health(&b.addr)["standbys"][0]["error"].is_string());
    standby.start();
    until("node B puts the standby back", 30, || in_rotation(&health(&b.addr)));
    assert_eq!(source(&b.addr), (200, Some("standby-1".to_owned())));

    eprintln!("replicas: {:>5.1} s, next: Replay delayed beyond FUNKPLAN_MAX_REPLI", t0.elapsed().as_secs_f64());
    // --- Replay delayed beyond FUNKPLAN_MAX_REPLICA_LAG (1 s): out.
    let auto = standby.dir.join("data/postgresql.auto.conf");
    let original = std::fs::read_to_string(&auto).unwrap();
    std::fs::write(&auto, format!("{original}\nrecovery_min_apply_delay = '4s'\n")).unwrap();
    standby.reload();
    std::thread::sleep(Duration::from_millis(300));
    let (s, _, body) = http(&a.addr, "POST", "/api/v1/sites", &[("Authorization", &auth)], Some(&site("REPL-3"))).unwrap();
    assert_eq!(s, 201, "{body}");
    until("node B takes the lagging standby out", 10, || !in_rotation(&health(&b.addr)));
    let h = health(&b.addr);
    assert!(h["standbys"][0]["error"].as_str().unwrap_or("").contains("behind"), "{h}");
    // Meanwhile reads are current: they go to the primary.
    let (s, n, _) = planned(&b.addr, &ags, None);
    assert_eq!((s, n), (200, before + 3.0));
    assert_eq!(source(&b.addr), (200, Some("primary".to_owned())));
    std::fs::write(&auto, &original).unwrap();
    standby.reload();
    until("node B puts the caught-up standby back", 30, || in_rotation(&health(&b.addr)));
    let metrics = http(&b.addr, "GET", "/metrics", &[], None).unwrap().2;
    assert!(metrics.contains("funkplan_replica_in_rotation{standby=\"standby-1\"} 1"), "{metrics}");
    assert!(metrics.contains("funkplan_replica_lag_seconds{standby=\"standby-1\"}"), "{metrics}");
    assert!(metrics.contains("funkplan_reads_total{source=\"standby\"}"), "{metrics}");

    eprintln!("replicas: {:>5.1} s, next: The primary stopped", t0.elapsed().as_secs_f64());
    // --- The primary stopped: writes 503 with Retry-After, reads answer
    // from the standby.
    primary.stop();
    let (s, h, body) = http(&a.addr, "POST", "/api/v1/sites", &[("Authorization", &auth)], Some(&site("REPL-4"))).unwrap();
    assert_eq!(s, 503, "{body}");
    assert!(header(&h, "retry-after").is_some(), "{h:?}");
    let (s, n, _) = planned(&b.addr, &ags, None);
    assert_eq!((s, n), (200, before + 3.0), "reads answer while the primary is away");
    assert_eq!(source(&b.addr), (200, Some("standby-1".to_owned())), "from the standby");
    until("node B reports the primary down", 10, || health(&b.addr)["primary"] == "down");
    eprintln!("replicas: {:>5.1} s, stopping", t0.elapsed().as_secs_f64());
    drop((a, b));
    eprintln!("replicas: {:>5.1} s, nodes stopped", t0.elapsed().as_secs_f64());
}
