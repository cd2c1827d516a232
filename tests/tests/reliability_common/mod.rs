//! Shared set-up of the reliability tests (issue 8): a tiny but complete
//! dataset (four 2 km × 2 km municipalities with households, sites,
//! measures and reported coverage), loaded through the real binary into a
//! fresh test database; table checksums; a `funkplan serve` child.
//!
//! The demo dataset takes minutes to generate and load on two cores; this
//! one takes seconds, so every test can have its own database.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use funkplan_db::testing::TestDb;
use funkplan_e2e::{bin, free_addr, run, text, wait_http_ok};
use funkplan_ingest::crs::{Crs, Transformer};

/// The municipalities of the fixture: AGS, name, south-west corner (EPSG:25832 m).
pub const MUNIS: [(&str, &str, f64, f64); 4] = [
    ("05111000", "Düsseldorf", 340_000.0, 5_676_000.0),
    ("05112000", "Duisburg", 342_000.0, 5_676_000.0),
    ("05113000", "Essen", 344_000.0, 5_676_000.0),
    ("05114000", "Krefeld", 346_000.0, 5_676_000.0),
];
/// Edge of each municipality square in metres.
pub const SIDE: f64 = 2_000.0;
pub const SITES_PER_MUNI: usize = 12;
pub const OPERATORS: [&str; 4] = ["telekom", "vodafone", "telefonica", "1und1"];

/// A unique temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);
impl TempDir {
    pub fn new(tag: &str) -> Self {
        let d = std::env::temp_dir().join(format!("funkplan-rel-{tag}-{}-{}", std::process::id(), rand_u32()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Self(d)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    pub fn str(&self, name: &str) -> String {
        self.path(name).to_str().unwrap().to_owned()
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64);
    h.finish() as u32
}

/// Site ids of the fixture, with their municipality and index.
pub fn site_id(ags: &str, j: usize) -> String {
    format!("S-{ags}-{j}")
}

/// Write the fixture files into `dir`: municipalities.geojson,
/// households.csv, sites.csv, measures.csv, 202610_coverage.csv (a coverage
/// release dated by its name, issue 16).
pub fn write_fixture(dir: &Path) {
    // Municipalities, in EPSG:25832 with the file's own `crs` member.
    let mut feats = Vec::new();
    for (ags, name, x0, y0) in MUNIS {
        let ring = [[x0, y0], [x0 + SIDE, y0], [x0 + SIDE, y0 + SIDE], [x0, y0 + SIDE], [x0, y0]];
        feats.push(serde_json::json!({
            "type": "Feature",
            "properties": {"AGS": ags, "GEN": name, "BEZ": "Stadt", "EWZ": 10000},
            "geometry": {"type": "Polygon", "coordinates": [ring]}
        }));
    }
    let fc = serde_json::json!({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}},
        "features": feats
    });
    std::fs::write(dir.join("municipalities.geojson"), fc.to_string()).unwrap();

    // Households on the census grid (EPSG:3035, 100 m) over the whole area.
    let to_laea = Transformer::new(Crs::UTM32, Crs::LAEA).unwrap();
    let (x0, y0, x1, y1) = (MUNIS[0].2, MUNIS[0].3, MUNIS[3].2 + SIDE, MUNIS[0].3 + SIDE);
    let corners: Vec<(f64, f64)> = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)].iter().map(|&(x, y)| to_laea.transform(x, y).unwrap()).collect();
    let min = |f: fn(&(f64, f64)) -> f64| corners.iter().map(f).fold(f64::MAX, f64::min);
    let max = |f: fn(&(f64, f64)) -> f64| corners.iter().map(f).fold(f64::MIN, f64::max);
    let (e0, e1) = ((min(|p| p.0) / 100.0).floor() as i64 - 1, (max(|p| p.0) / 100.0).ceil() as i64 + 1);
    let (n0, n1) = ((min(|p| p.1) / 100.0).floor() as i64 - 1, (max(|p| p.1) / 100.0).ceil() as i64 + 1);
    let mut hh = String::from("GITTER_ID_100m,households\n");
    for n in n0..n1 {
        for e in e0..e1 {
            writeln!(hh, "CRS3035RES100mN{}E{},{}", n * 100, e * 100, 1 + (n + e).rem_euclid(5)).unwrap();
        }
    }
    std::fs::write(dir.join("households.csv"), hh).unwrap();

    // Sites and measures.
    let to_wgs = Transformer::new(Crs::UTM32, Crs::WGS84).unwrap();
    let mut sites = String::from("site_id,operator,lon,lat,status,technologies,planned_date,on_air_date\n");
    let mut measures = String::from("measure_id,site_id,kind,status,planned_date,completed_date\n");
    for (ags, _, x0, y0) in MUNIS {
        for j in 0..SITES_PER_MUNI {
            let (x, y) = (x0 + 250.0 + (j % 4) as f64 * 500.0, y0 + 300.0 + (j / 4) as f64 * 650.0);
            let (lon, lat) = to_wgs.transform(x, y).unwrap();
            let id = site_id(ags, j);
            let op = OPERATORS[j % 4];
            let (status, tech, on_air) = match j % 6 {
                0 => ("on_air", "lte;5g", "2020-05-01"),
                1 | 2 => ("on_air", "lte", "2020-05-01"),
                3 => ("planned", "", ""),
                4 => ("construction", "", ""),
                _ => ("permitting", "", ""),
            };
            writeln!(sites, "{id},{op},{lon:.7},{lat:.7},{status},{tech},2019-01-01,{on_air}").unwrap();
            match j % 6 {
                0 => {
                    writeln!(measures, "M-{id}-lte,{id},lte_new_site,completed,2019-01-01,2020-05-01").unwrap();
                    writeln!(measures, "M-{id}-5g,{id},5g_upgrade,completed,2021-01-01,2022-03-01").unwrap();
                }
                1 | 2 => {
                    writeln!(measures, "M-{id}-lte,{id},lte_new_site,completed,2019-01-01,2020-05-01").unwrap();
                    writeln!(measures, "M-{id}-5g,{id},5g_upgrade,planned,2027-06-01,").unwrap();
                }
                3 => writeln!(measures, "M-{id}-lte,{id},lte_new_site,planned,2027-01-01,").unwrap(),
                4 => writeln!(measures, "M-{id}-lte,{id},lte_new_site,in_progress,2026-01-01,").unwrap(),
                _ => {}
            }
        }
    }
    std::fs::write(dir.join("sites.csv"), sites).unwrap();
    std::fs::write(dir.join("measures.csv"), measures).unwrap();

    // Reported coverage (the regulator's layout) for every cell, a few dead.
    let mut cov = String::from("id,gsm_out,lte,nr_dss,nr_nsa_sa,nr_gesamt\n");
    for n in (y0 / 100.0) as i64..(y1 / 100.0) as i64 {
        for e in (x0 / 100.0) as i64..(x1 / 100.0) as i64 {
            let lte = if (n * 7 + e * 3) % 41 == 0 { 0 } else { 1 + (n + e) % 3 };
            let nr = (n * e) % 3;
            writeln!(cov, "100mN{n}E{e},2,{lte},0,{nr},{nr}").unwrap();
        }
    }
    std::fs::write(dir.join("202610_coverage.csv"), cov).unwrap();
}

/// The five kinds in load order with their fixture file names.
pub const FILES: [(&str, &str); 5] = [
    ("municipalities", "municipalities.geojson"),
    ("households", "households.csv"),
    ("sites", "sites.csv"),
    ("measures", "measures.csv"),
    ("coverage", "202610_coverage.csv"),
];

/// Run `funkplan args` on `url`; panic with stderr unless it succeeds.
pub fn ok(args: &[&str], url: &str) -> String {
    let o = run(args, &[("DATABASE_URL", url)]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "funkplan {args:?} failed: {err}");
    out
}

/// A fresh test database with the fixture ingested and recomputed.
pub struct Loaded {
    pub rt: tokio::runtime::Runtime,
    pub db: TestDb,
    pub url: String,
    pub dir: TempDir,
}

impl Loaded {
    pub fn new(tag: &str) -> Self {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let db = rt.block_on(TestDb::new());
        let url = db.url.clone();
        let dir = TempDir::new(tag);
        write_fixture(&dir.0);
        for (kind, file) in FILES {
            ok(&["ingest", kind, &dir.str(file)], &url);
        }
        ok(&["recompute"], &url);
        Self { rt, db, url, dir }
    }

    pub fn client(&self) -> tokio_postgres::Client {
        self.rt.block_on(self.db.client())
    }

    /// One checksum per table of the public schema: row count and the MD5
    /// of all rows as text in a fixed order.
    pub fn checksums(&self) -> BTreeMap<String, String> {
        checksums(&self.rt, &self.url)
    }

    pub fn query_i64(&self, sql: &str) -> i64 {
        let c = self.client();
        self.rt.block_on(c.query_one(sql, &[])).unwrap().get(0)
    }

    pub fn token(&self, role: &str) -> String {
        ok(&["token", "create", "--role", role], &self.url).lines().last().unwrap().trim().to_owned()
    }
}

pub fn checksums(rt: &tokio::runtime::Runtime, url: &str) -> BTreeMap<String, String> {
    rt.block_on(async {
        let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
        let h = tokio::spawn(conn);
        let tables: Vec<String> = c
            .query(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'spatial_ref_sys' ORDER BY 1",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut out = BTreeMap::new();
        for t in tables {
            let r = c
                .query_one(
                    &format!("SELECT count(*)::text || ' ' || coalesce(md5(string_agg(x::text, E'\\n' ORDER BY x::text)), '-') FROM public.\"{t}\" x"),
                    &[],
                )
                .await
                .unwrap();
            out.insert(t, r.get::<_, String>(0));
        }
        drop(c);
        let _ = h.await;
        out
    })
}

/// Tables whose checksums differ, for a readable assertion message.
pub fn changed(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<String> {
    let mut v: Vec<String> = before.iter().filter(|(k, v)| after.get(*k) != Some(v)).map(|(k, _)| k.clone()).collect();
    v.extend(after.keys().filter(|k| !before.contains_key(*k)).cloned());
    v
}

/// A `funkplan serve` child, stopped with SIGTERM on drop; stderr goes to
/// a file so tests can read the log.
pub struct Server {
    pub child: Child,
    pub addr: String,
    pub log: PathBuf,
}

impl Server {
    pub fn start(url: &str, env: &[(&str, &str)], log: PathBuf) -> Self {
        let addr = free_addr();
        let f = std::fs::File::create(&log).unwrap();
        let mut c = Command::new(bin());
        c.args(["serve", "--addr", &addr]).env("DATABASE_URL", url).env("RUST_LOG", "warn").stdin(Stdio::null()).stdout(Stdio::null()).stderr(f);
        for (k, v) in env {
            c.env(k, v);
        }
        let child = c.spawn().unwrap();
        let s = Self { child, addr, log };
        assert!(wait_http_ok(&s.addr, "/healthz", 120), "serve did not come up: {}", s.log_text());
        s
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

/// Parse JSON or panic with the text.
pub fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// Percent-encode a query value.
pub fn enc(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            o.push(b as char);
        } else {
            write!(o, "%{b:02X}").unwrap();
        }
    }
    o
}

/// A census household file of `rows` 100 m cells (most outside the
/// fixture's municipalities, which is allowed: they are kept and reported).
pub fn households_file(path: &Path, rows: usize) {
    let mut s = String::with_capacity(rows * 36);
    s.push_str("GITTER_ID_100m,households\n");
    for i in 0..rows {
        let (n, e) = (3_100_000 + (i / 1000) * 100, 4_000_000 + (i % 1000) * 100);
        writeln!(s, "CRS3035RES100mN{n}E{e},{}", 1 + i % 4).unwrap();
    }
    std::fs::write(path, s).unwrap();
}

/// coverage_result without the run's id and time: the figures themselves.
pub const FIGURES: &str = "SELECT count(*)::text || md5(string_agg(concat_ws(',', scenario, ags, technology, households, households_covered, cells, cells_covered, dead_cells, grey_cells, source), ';' ORDER BY scenario, ags, technology)) FROM coverage_result";

/// `funkplan args` on the database `url` as a child (quiet logs, no stdin,
/// stdout dropped), stderr to `stderr`.
pub fn spawn_funkplan(args: &[&str], url: &str, stderr: impl Into<Stdio>) -> Child {
    Command::new(bin())
        .args(args)
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap()
}
