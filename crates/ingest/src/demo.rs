//! `funkplan demo-data`: a deterministic synthetic dataset in exactly the
//! input formats of DESIGN §6, clearly marked synthetic.
//!
//! - `municipalities.geojson`: a jittered tiling of real NRW coordinates in
//!   EPSG:25832 (with a `crs` member); neighbours share their edges vertex
//!   for vertex, so the tiling has no gaps or overlaps. Properties `AGS`,
//!   `GEN` ("Beispielstadt", "Musterdorf", … — invented names), `BEZ`,
//!   `EWZ`, `synthetic: true`.
//! - `households.csv`: census 100 m grid in EPSG:3035, `;`-separated like
//!   the Zensus 2022 files: `GITTER_ID_100m;x_mp_100m;y_mp_100m;Einwohner;Haushalte`,
//!   `-1` / `–` = suppressed; households concentrated in one town per
//!   municipality (town sizes Zipf-distributed) over a rural floor.
//! - `sites.csv`: `site_id,operator,lon,lat,status,technologies,planned_date,on_air_date,synthetic`
//!   (WGS84, technologies separated by `|`).
//! - `measures.csv`: `measure_id,site_id,kind,status,planned_date,completed_date,synthetic`.
//! - `coverage.csv`: the regulator's format `id,gsm_out,lte,nr_dss,nr_nsa_sa,nr_gesamt`
//!   for every grid cell, from the on-air sites with the seeded radii
//!   (urban/rural by household density), so rural gaps stay LTE dead spots.
//!
//! The story (both scales, the state-wide site and measure counts): 5G
//! upgrades pass 10,300 in September 2024 (target met), further LTE measures
//! after 16 Nov 2021 reach only ~7,050 by the end of 2024 and pass 7,500 in
//! mid-2025 (target missed, reached late), some measures remain planned, and
//! a few rural areas without sites remain LTE dead spots. `small` is a
//! 6 × 6 tiling (36 municipalities, ~3,100 km²) around Cologne that loads in
//! seconds; `nrw` is 22 × 18 = 396 municipalities over ~34,100 km² with
//! ~3.4 M cells and ~8.2 M households.

use std::io::{BufWriter, Write};
use std::path::Path;

use chrono::NaiveDate;

use crate::crs::{Crs, Transformer};
use crate::grid::{self, MultiPolygon};
use crate::{Error, Result};

/// Dataset size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    Small,
    Nrw,
}

impl std::str::FromStr for Scale {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "small" => Ok(Self::Small),
            "nrw" => Ok(Self::Nrw),
            _ => Err(Error::Usage(format!("unknown scale {s:?}: small or nrw"))),
        }
    }
}

/// What was written.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Stats {
    pub municipalities: usize,
    pub grid_cells: u64,
    pub census_cells: u64,
    pub households: u64,
    pub sites: usize,
    pub measures: usize,
    pub coverage_cells: u64,
    pub lte_dead_cells: u64,
}

/// SplitMix64: tiny, fast and fixed forever, so the dataset never changes
/// with a dependency's version.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    /// Uniform in [0, 1).
    #[allow(clippy::cast_precision_loss)]
    fn f(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        #[allow(clippy::cast_possible_truncation)]
        let r = (self.next() % n as u64) as usize;
        r
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A hash of integers in [0, 1): the same inputs give the same jitter
/// whichever polygon asks, which keeps shared edges identical.
#[allow(clippy::cast_precision_loss, clippy::cast_sign_loss)]
fn h01(a: i64, b: i64, c: i64) -> f64 {
    let z = mix(mix(mix(0x5EED ^ a as u64) ^ b as u64) ^ c as u64);
    (z >> 11) as f64 / (1u64 << 53) as f64
}

const SEED: u64 = 0x00F0_4E9A_2021_1116;
const SIDE_M: f64 = 9_280.0; // 34,100 km² / 396 ≈ 86.1 km² per municipality

struct Layout {
    cols: i64,
    rows: i64,
    e0: f64,
    n0: f64,
}

impl Layout {
    fn of(scale: Scale) -> Self {
        match scale {
            Scale::Nrw => Self { cols: 22, rows: 18, e0: 290_000.0, n0: 5_600_000.0 },
            Scale::Small => Self { cols: 6, rows: 6, e0: 330_000.0, n0: 5_620_000.0 },
        }
    }

    /// Vertex (i, j) of the tiling, interior vertices jittered.
    #[allow(clippy::cast_precision_loss)]
    fn vertex(&self, i: i64, j: i64) -> (f64, f64) {
        let interior_x = i > 0 && i < self.cols;
        let interior_y = j > 0 && j < self.rows;
        let jx = if interior_x { (h01(i, j, 1) - 0.5) * 0.4 * SIDE_M } else { 0.0 };
        let jy = if interior_y { (h01(i, j, 2) - 0.5) * 0.4 * SIDE_M } else { 0.0 };
        ((self.e0 + i as f64 * SIDE_M + jx).round(), (self.n0 + j as f64 * SIDE_M + jy).round())
    }

    /// The points of the edge from vertex a to vertex b, without b: the
    /// shared edge is computed from its canonical direction, so both
    /// neighbours get the same points.
    fn edge(&self, a: (i64, i64), b: (i64, i64)) -> Vec<(f64, f64)> {
        let (p, q, rev) = if a <= b { (a, b, false) } else { (b, a, true) };
        let (pa, pb) = (self.vertex(p.0, p.1), self.vertex(q.0, q.1));
        let (dx, dy) = (pb.0 - pa.0, pb.1 - pa.1);
        let len = (dx * dx + dy * dy).sqrt();
        let (nx, ny) = (-dy / len, dx / len);
        let mut pts = vec![pa];
        let key = p.0 * 1_000_003 + p.1 * 1_009 + q.0 * 31 + q.1;
        for k in 1..4 {
            #[allow(clippy::cast_precision_loss)]
            let t = k as f64 / 4.0;
            let off = (h01(key, k, 3) - 0.5) * 0.12 * SIDE_M;
            pts.push(((pa.0 + dx * t + nx * off).round(), (pa.1 + dy * t + ny * off).round()));
        }
        pts.push(pb);
        if rev {
            pts.reverse();
        }
        pts.pop();
        pts
    }

    fn polygon(&self, i: i64, j: i64) -> MultiPolygon {
        let corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)];
        let mut ring = Vec::new();
        for k in 0..4 {
            ring.extend(self.edge(corners[k], corners[(k + 1) % 4]));
        }
        ring.push(ring[0]);
        vec![vec![ring]]
    }
}

const BASES: &[&str] = &["Beispiel", "Muster", "Probe", "Modell", "Vorlage", "Schablonen", "Platzhalter", "Entwurf", "Attrappen", "Kulissen", "Fiktiv", "Annahme"];
const SUFFIXES: &[&str] = &["stadt", "dorf", "hausen", "heim", "feld", "berg", "bach", "born", "kirchen", "rode", "hagen", "beck", "wald", "au", "burg", "horst", "ingen", "loh"];

struct Muni {
    ags: String,
    name: String,
    kind: &'static str,
    geom: MultiPolygon,
    town: (f64, f64),
    town_radius: f64,
    households: f64,
    population: f64,
}

/// Write the dataset of `scale` into `out` (created if missing).
///
/// # Errors
/// I/O errors while writing.
#[allow(clippy::too_many_lines, clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub fn generate(scale: Scale, out: &Path) -> Result<Stats> {
    std::fs::create_dir_all(out).map_err(Error::io(format!("creating {}", out.display())))?;
    let lay = Layout::of(scale);
    let mut rng = Rng(SEED);
    let mut stats = Stats::default();
    let n_muni = (lay.cols * lay.rows) as usize;

    // Municipalities: names, AGS by district blocks of 3 × 3, town sizes by Zipf rank.
    let mut names: Vec<String> = Vec::new();
    for b in BASES {
        for s in SUFFIXES {
            names.push(format!("{b}{s}"));
        }
    }
    for i in (1..names.len()).rev() {
        let j = rng.below(i + 1);
        names.swap(i, j);
    }
    let mut ranks: Vec<usize> = (1..=n_muni).collect();
    for i in (1..ranks.len()).rev() {
        let j = rng.below(i + 1);
        ranks.swap(i, j);
    }
    let total_households = match scale {
        Scale::Nrw => 8_200_000.0,
        Scale::Small => 8_200_000.0 * n_muni as f64 / 396.0,
    };
    let zipf: Vec<f64> = (1..=n_muni).map(|r| 1.0 / (r as f64).powf(0.85)).collect();
    let zsum: f64 = zipf.iter().sum();
    let dcols = (lay.cols + 2) / 3;
    let mut munis: Vec<Muni> = Vec::with_capacity(n_muni);
    let mut seq_in_rb: std::collections::HashMap<(i64, i64), i64> = std::collections::HashMap::new();
    let mut district_no: std::collections::HashMap<(i64, i64, i64), i64> = std::collections::HashMap::new();
    let mut seq_in_district: std::collections::HashMap<(i64, i64), i64> = std::collections::HashMap::new();
    for j in 0..lay.rows {
        for i in 0..lay.cols {
            let idx = munis.len();
            let (dc, dr) = (i / 3, j / 3);
            let rb = 1 + dc * 5 / dcols.max(1);
            let kreis = *district_no.entry((rb, dc, dr)).or_insert_with(|| {
                let s = seq_in_rb.entry((rb, 0)).or_insert(10);
                *s += 1;
                *s
            });
            let g = seq_in_district.entry((dc, dr)).or_insert(0);
            *g += 4;
            let ags = format!("05{rb}{kreis:02}{:03}", *g);
            let rank = ranks[idx];
            let households = total_households * zipf[rank - 1] / zsum;
            let geom = lay.polygon(i, j);
            let (c0, c1) = lay.vertex(i, j);
            let (d0, d1) = lay.vertex(i + 1, j + 1);
            let town = ((c0 + d0) / 2.0 + (rng.f() - 0.5) * 0.25 * SIDE_M, (c1 + d1) / 2.0 + (rng.f() - 0.5) * 0.25 * SIDE_M);
            let base = &names[idx % names.len()];
            let name = if idx < names.len() { base.clone() } else { format!("{base} {}", idx / names.len() + 1) };
            let kind = if rank <= n_muni / 10 { "Stadt" } else { "Gemeinde" };
            // Big towns spread wider: radius grows with the square root of size.
            let town_radius = 600.0 + 2_200.0 * (households / 300_000.0).sqrt().min(1.6);
            munis.push(Muni { ags, name, kind, geom, town, town_radius, households, population: 0.0 });
        }
    }
    stats.municipalities = munis.len();

    // The 25832 grid: cell → municipality, dense over the bounding box.
    // Outer edges bulge out by up to 0.06 × SIDE_M (557 m): a 1.5 km margin.
    let (be0, bn0) = ((lay.e0 / 100.0).floor() as i32 - 15, (lay.n0 / 100.0).floor() as i32 - 15);
    let bw = (lay.cols as f64 * SIDE_M / 100.0) as i32 + 31;
    let bh = (lay.rows as f64 * SIDE_M / 100.0) as i32 + 31;
    let mut owner: Vec<u16> = vec![0; (bw * bh) as usize];
    let at = |n: i32, e: i32| -> Option<usize> {
        let (r, c) = (n - bn0, e - be0);
        (r >= 0 && c >= 0 && r < bh && c < bw).then(|| (r * bw + c) as usize)
    };
    for (k, m) in munis.iter().enumerate() {
        grid::rasterise(&m.geom, |n, e| {
            if let Some(i) = at(n, e) {
                owner[i] = k as u16 + 1;
                stats.grid_cells += 1;
            }
        });
    }

    // Remote rural areas without any site: they stay LTE dead spots.
    let n_remote = match scale {
        Scale::Nrw => 14,
        Scale::Small => 3,
    };
    let mut remote: Vec<(f64, f64, f64)> = Vec::new();
    let mut by_size: Vec<usize> = (0..munis.len()).collect();
    by_size.sort_by(|&a, &b| munis[a].households.total_cmp(&munis[b].households));
    for &k in by_size.iter().take(n_remote) {
        let c0 = polygon_centre(&munis[k]);
        let m = &munis[k];
        // Opposite the town within the municipality.
        let (dx, dy) = (c0.0 - m.town.0, c0.1 - m.town.1);
        let d = (dx * dx + dy * dy).sqrt().max(1.0);
        remote.push((c0.0 + dx / d * 1_500.0, c0.1 + dy / d * 1_500.0, 5_600.0 + rng.f() * 1_000.0));
    }
    let in_remote = |x: f64, y: f64| remote.iter().any(|&(rx, ry, r)| (x - rx).powi(2) + (y - ry).powi(2) < r * r);

    // Households on the census grid (EPSG:3035): weights first, then scaled
    // to each municipality's total and rounded.
    let to_utm = Transformer::new(Crs::LAEA, Crs::UTM32).map_err(Error::Usage)?;
    let to_laea = Transformer::new(Crs::UTM32, Crs::LAEA).map_err(Error::Usage)?;
    let corners = [
        (lay.e0 - 1_500.0, lay.n0 - 1_500.0),
        (lay.e0 + lay.cols as f64 * SIDE_M + 1_500.0, lay.n0 - 1_500.0),
        (lay.e0 - 1_500.0, lay.n0 + lay.rows as f64 * SIDE_M + 1_500.0),
        (lay.e0 + lay.cols as f64 * SIDE_M + 1_500.0, lay.n0 + lay.rows as f64 * SIDE_M + 1_500.0),
    ];
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for (e, n) in corners {
        let (x, y) = to_laea.transform(e, n).map_err(Error::Usage)?;
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    let (cx0, cy0, cx1, cy1) = ((x0 / 100.0).floor() as i64, (y0 / 100.0).floor() as i64, (x1 / 100.0).ceil() as i64, (y1 / 100.0).ceil() as i64);
    struct Census {
        n: i64,
        e: i64,
        muni: u16,
        w: f32,
        utm: (f32, f32),
    }
    let mut census: Vec<Census> = Vec::new();
    let mut wsum = vec![0f64; munis.len()];
    for cy in cy0..cy1 {
        for cx in cx0..cx1 {
            let (x, y) = ((cx * 100 + 50) as f64, (cy * 100 + 50) as f64);
            let (ue, un) = to_utm.transform(x, y).map_err(Error::Usage)?;
            let c = funkplan_model::CellId::containing(ue, un);
            let Some(i) = at(c.n, c.e) else { continue };
            let k = owner[i];
            if k == 0 {
                continue;
            }
            let m = &munis[k as usize - 1];
            let d = ((ue - m.town.0).powi(2) + (un - m.town.1).powi(2)).sqrt();
            let r = h01(cx, cy, 7);
            // Forest and fields: a third of rural cells have nobody.
            let urban = (-d / m.town_radius).exp();
            let w = if urban < 0.05 && r < 0.35 || in_remote(ue, un) && r < 0.8 {
                0.0
            } else {
                (urban * 40.0 + 0.25) * (0.4 + 1.2 * h01(cx, cy, 8))
            };
            wsum[k as usize - 1] += w;
            census.push(Census { n: cy * 100, e: cx * 100, muni: k, w: w as f32, utm: (ue as f32, un as f32) });
        }
    }
    stats.census_cells = census.len() as u64;
    let mut hh_utm: Vec<f32> = vec![0.0; owner.len()];
    {
        let f = std::fs::File::create(out.join("households.csv")).map_err(Error::io("creating households.csv"))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        let wr = |w: &mut BufWriter<std::fs::File>, s: &str| w.write_all(s.as_bytes()).map_err(Error::io("writing households.csv"));
        wr(&mut w, "GITTER_ID_100m;x_mp_100m;y_mp_100m;Einwohner;Haushalte\n")?;
        let mut line = String::with_capacity(96);
        for c in &census {
            let k = c.muni as usize - 1;
            let m = &mut munis[k];
            let exact = if wsum[k] > 0.0 { m.households * f64::from(c.w) / wsum[k] } else { 0.0 };
            let hh = (exact + h01(c.n, c.e, 9)).floor().max(0.0);
            let size = 1.7 + 0.8 * h01(c.n, c.e, 10);
            let pop = (hh * size).round();
            let sup = h01(c.n, c.e, 11);
            line.clear();
            use std::fmt::Write as _;
            let _ = write!(line, "CRS3035RES100mN{}E{};{};{};", c.n, c.e, c.e + 50, c.n + 50);
            if hh > 0.0 && sup < 0.004 {
                // Suppressed for confidentiality, as the census does.
                line.push_str(if sup < 0.002 { "-1;-1\n" } else { "–;–\n" });
            } else {
                let _ = writeln!(line, "{pop};{hh}");
                m.population += pop;
                stats.households += hh as u64;
                let cell = funkplan_model::CellId::containing(f64::from(c.utm.0), f64::from(c.utm.1));
                if let Some(i) = at(cell.n, cell.e) {
                    hh_utm[i] += hh as f32;
                }
            }
            wr(&mut w, &line)?;
        }
        w.flush().map_err(Error::io("writing households.csv"))?;
    }
    drop(census);

    // Municipalities file, EPSG:25832 with a crs member.
    {
        let features: Vec<serde_json::Value> = munis
            .iter()
            .map(|m| {
                serde_json::json!({
                    "type": "Feature",
                    "properties": {"AGS": m.ags, "GEN": m.name, "BEZ": m.kind, "EWZ": m.population as i64, "synthetic": true},
                    "geometry": {"type": "MultiPolygon", "coordinates": m.geom.iter().map(|p| p.iter().map(|r| r.iter().map(|&(x, y)| [x, y]).collect::<Vec<_>>()).collect::<Vec<_>>()).collect::<Vec<_>>()}
                })
            })
            .collect();
        let doc = serde_json::json!({
            "type": "FeatureCollection",
            "name": "funkplan-demo-municipalities (SYNTHETIC)",
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}},
            "features": features,
        });
        let f = std::fs::File::create(out.join("municipalities.geojson")).map_err(Error::io("creating municipalities.geojson"))?;
        let mut w = BufWriter::new(f);
        serde_json::to_writer(&mut w, &doc).map_err(|e| Error::Usage(format!("writing municipalities.geojson: {e}")))?;
        w.flush().map_err(Error::io("writing municipalities.geojson"))?;
    }

    // Sites: sampled by households (towns get more) with a rural floor, none in remote areas.
    let mut cdf: Vec<(f64, usize)> = Vec::new();
    let mut acc = 0.0;
    for (i, &o) in owner.iter().enumerate() {
        if o == 0 {
            continue;
        }
        let (n, e) = (i as i32 / bw + bn0, i as i32 % bw + be0);
        let (x, y) = (f64::from(e) * 100.0 + 50.0, f64::from(n) * 100.0 + 50.0);
        if in_remote(x, y) {
            continue;
        }
        acc += f64::from(hh_utm[i]).powf(0.8) + 0.6;
        cdf.push((acc, i));
    }
    let sample_cell = |rng: &mut Rng| -> (f64, f64) {
        let t = rng.f() * acc;
        let k = cdf.partition_point(|&(a, _)| a < t).min(cdf.len() - 1);
        let i = cdf[k].1 as i32;
        let (n, e) = (i / bw + bn0, i % bw + be0);
        // Near the cell centre, which lies in the municipality.
        (f64::from(e) * 100.0 + 40.0 + rng.f() * 20.0, f64::from(n) * 100.0 + 40.0 + rng.f() * 20.0)
    };
    let to_wgs = Transformer::new(Crs::UTM32, Crs::WGS84).map_err(Error::Usage)?;

    #[derive(Clone)]
    struct Site {
        id: String,
        op: &'static str,
        utm: (f64, f64),
        status: &'static str,
        lte: bool,
        nr: bool,
        planned: Option<NaiveDate>,
        on_air: Option<NaiveDate>,
    }
    struct Measure {
        site: usize,
        kind: &'static str,
        status: &'static str,
        planned: Option<NaiveDate>,
        completed: Option<NaiveDate>,
    }
    let d = |y: i32, m: u32, dd: u32| NaiveDate::from_ymd_opt(y, m, dd).unwrap_or_default();
    let pick_op = |rng: &mut Rng, new_site: bool| -> &'static str {
        let r = rng.f();
        let w = if new_site { [0.27, 0.24, 0.19, 0.30] } else { [0.36, 0.33, 0.27, 0.04] };
        if r < w[0] {
            "telekom"
        } else if r < w[0] + w[1] {
            "vodafone"
        } else if r < w[0] + w[1] + w[2] {
            "telefonica"
        } else {
            "1und1"
        }
    };
    let mut sites: Vec<Site> = Vec::new();
    let n_existing = 22_000;
    for _ in 0..n_existing {
        let utm = sample_cell(&mut rng);
        let op = pick_op(&mut rng, false);
        let on_air = d(2008, 1, 1) + chrono::Days::new((rng.f() * 3_900.0) as u64);
        sites.push(Site { id: String::new(), op, utm, status: "on_air", lte: true, nr: false, planned: None, on_air: Some(on_air) });
    }
    // A cumulative curve (date, count) sampled by inverse CDF.
    let curve_date = |rng: &mut Rng, pts: &[(NaiveDate, f64)]| -> NaiveDate {
        let total = pts[pts.len() - 1].1;
        let t = rng.f() * total;
        let k = pts.windows(2).position(|w| t < w[1].1).unwrap_or(pts.len() - 2);
        let (a, b) = (pts[k], pts[k + 1]);
        let frac = if b.1 > a.1 { (t - a.1) / (b.1 - a.1) } else { 0.0 };
        let days = ((b.0 - a.0).num_days() as f64 * frac) as u64;
        a.0 + chrono::Days::new(days)
    };
    let five_g = [
        (d(2019, 7, 1), 0.0),
        (d(2020, 12, 31), 1_500.0),
        (d(2021, 12, 31), 3_800.0),
        (d(2022, 12, 31), 6_300.0),
        (d(2023, 12, 31), 8_700.0),
        (d(2024, 9, 15), 10_300.0),
        (d(2024, 12, 31), 10_750.0),
        (d(2025, 12, 31), 12_200.0),
        (d(2026, 3, 31), 12_600.0),
    ];
    let lte_before = [(d(2019, 1, 1), 0.0), (d(2021, 11, 15), 3_000.0)];
    let lte_after = [
        (d(2021, 11, 16), 0.0),
        (d(2022, 12, 31), 2_400.0),
        (d(2023, 12, 31), 4_900.0),
        (d(2024, 12, 31), 7_050.0),
        (d(2025, 6, 30), 7_520.0),
        (d(2025, 12, 31), 8_200.0),
        (d(2026, 3, 31), 8_400.0),
    ];
    let before = |rng: &mut Rng, c: NaiveDate| c - chrono::Days::new(60 + (rng.f() * 480.0) as u64);
    let future_plan = |rng: &mut Rng| d(2026, 6, 1) + chrono::Days::new((rng.f() * 570.0) as u64);
    let running_plan = |rng: &mut Rng| d(2025, 3, 1) + chrono::Days::new((rng.f() * 390.0) as u64);
    let mut measures: Vec<Measure> = Vec::new();
    // Shuffled existing sites for the upgrades.
    let mut order: Vec<usize> = (0..n_existing).collect();
    for i in (1..order.len()).rev() {
        let j = rng.below(i + 1);
        order.swap(i, j);
    }
    // 5G upgrades: 12,600 completed, 400 in progress, 600 planned.
    for (k, &s) in order.iter().take(13_600).enumerate() {
        let (status, planned, completed) = if k < 12_600 {
            let c = curve_date(&mut rng, &five_g);
            ("completed", Some(before(&mut rng, c)), Some(c))
        } else if k < 13_000 {
            ("in_progress", Some(running_plan(&mut rng)), None)
        } else {
            ("planned", Some(future_plan(&mut rng)), None)
        };
        if completed.is_some() {
            sites[s].nr = true;
        }
        measures.push(Measure { site: s, kind: "5g_upgrade", status, planned, completed });
    }
    // LTE measures: 3,000 before the strategy, 8,400 after, 1,600 open;
    // 40 % of them build a new site (rural first), the rest upgrade one.
    order.rotate_left(7_000);
    let mut upgrade_sites = order.iter().copied();
    for k in 0..13_000 {
        let (status, planned, completed) = if k < 3_000 {
            let c = curve_date(&mut rng, &lte_before);
            ("completed", Some(before(&mut rng, c)), Some(c))
        } else if k < 11_400 {
            let c = curve_date(&mut rng, &lte_after);
            ("completed", Some(before(&mut rng, c)), Some(c))
        } else if k < 12_100 {
            ("in_progress", Some(running_plan(&mut rng)), None)
        } else {
            ("planned", Some(future_plan(&mut rng)), None)
        };
        if rng.f() < 0.4 {
            let utm = sample_cell(&mut rng);
            let op = pick_op(&mut rng, true);
            let site_status = match status {
                "completed" => "on_air",
                "in_progress" => {
                    if rng.f() < 0.5 {
                        "permitting"
                    } else {
                        "construction"
                    }
                }
                _ => "planned",
            };
            sites.push(Site {
                id: String::new(),
                op,
                utm,
                status: site_status,
                lte: completed.is_some(),
                nr: false,
                planned,
                on_air: completed,
            });
            measures.push(Measure { site: sites.len() - 1, kind: "lte_new_site", status, planned, completed });
        } else {
            let s = upgrade_sites.next().unwrap_or(0);
            measures.push(Measure { site: s, kind: "lte_upgrade", status, planned, completed });
        }
    }
    // Ids in a spatial-free but stable order.
    for (i, s) in sites.iter_mut().enumerate() {
        s.id = format!("DEMO-S{:06}", i + 1);
    }
    // Measures sorted by date read naturally; ids follow that order.
    measures.sort_by_key(|m| (m.completed.or(m.planned), m.site));
    stats.sites = sites.len();
    stats.measures = measures.len();
    {
        let f = std::fs::File::create(out.join("sites.csv")).map_err(Error::io("creating sites.csv"))?;
        let mut w = BufWriter::new(f);
        let mut s = String::from("site_id,operator,lon,lat,status,technologies,planned_date,on_air_date,synthetic\n");
        for site in &sites {
            let (lon, lat) = to_wgs.transform(site.utm.0, site.utm.1).map_err(Error::Usage)?;
            let tech = match (site.nr, site.lte) {
                (true, true) => "5g|lte",
                (true, false) => "5g",
                (false, true) => "lte",
                (false, false) => "",
            };
            let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
            use std::fmt::Write as _;
            let _ = writeln!(s, "{},{},{lon:.6},{lat:.6},{},{tech},{},{},true", site.id, site.op, site.status, date(site.planned), date(site.on_air));
        }
        w.write_all(s.as_bytes()).map_err(Error::io("writing sites.csv"))?;
        let mut s = String::from("measure_id,site_id,kind,status,planned_date,completed_date,synthetic\n");
        let f = std::fs::File::create(out.join("measures.csv")).map_err(Error::io("creating measures.csv"))?;
        let mut w2 = BufWriter::new(f);
        for (i, m) in measures.iter().enumerate() {
            let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
            use std::fmt::Write as _;
            let _ = writeln!(s, "DEMO-M{:06},{},{},{},{},{},true", i + 1, sites[m.site].id, m.kind, m.status, date(m.planned), date(m.completed));
        }
        w2.write_all(s.as_bytes()).map_err(Error::io("writing measures.csv"))?;
        w.flush().map_err(Error::io("writing sites.csv"))?;
        w2.flush().map_err(Error::io("writing measures.csv"))?;
    }

    // Reported coverage from the on-air sites: radius by setting (seeds/coverage_model.json).
    let mut lte_mask = vec![0u8; owner.len()];
    let mut nr_mask = vec![0u8; owner.len()];
    let bit = |op: &str| match op {
        "telekom" => 1u8,
        "vodafone" => 2,
        "telefonica" => 4,
        _ => 8,
    };
    for s in sites.iter().filter(|s| s.status == "on_air") {
        let c = funkplan_model::CellId::containing(s.utm.0, s.utm.1);
        // Households within 1 km, per km²: urban above 400.
        let mut hh = 0.0;
        for dn in -10..=10 {
            for de in -10..=10 {
                if dn * dn + de * de <= 100 {
                    if let Some(i) = at(c.n + dn, c.e + de) {
                        hh += f64::from(hh_utm[i]);
                    }
                }
            }
        }
        let urban = hh / std::f64::consts::PI > 400.0;
        for (on, mask, r) in [(s.lte, &mut lte_mask, if urban { 1_200.0 } else { 4_000.0 }), (s.nr, &mut nr_mask, if urban { 600.0 } else { 3_000.0 })] {
            if !on {
                continue;
            }
            let rc = (r / 100.0) as i32 + 1;
            for dn in -rc..=rc {
                for de in -rc..=rc {
                    let (n, e) = (c.n + dn, c.e + de);
                    let (x, y) = (f64::from(e) * 100.0 + 50.0, f64::from(n) * 100.0 + 50.0);
                    if (x - s.utm.0).powi(2) + (y - s.utm.1).powi(2) <= r * r {
                        if let Some(i) = at(n, e) {
                            mask[i] |= bit(s.op);
                        }
                    }
                }
            }
        }
    }
    {
        let f = std::fs::File::create(out.join("coverage.csv")).map_err(Error::io("creating coverage.csv"))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        w.write_all(b"id,gsm_out,lte,nr_dss,nr_nsa_sa,nr_gesamt\n").map_err(Error::io("writing coverage.csv"))?;
        let mut line = String::with_capacity(64);
        for (i, &o) in owner.iter().enumerate() {
            if o == 0 {
                continue;
            }
            let (n, e) = (i as i32 / bw + bn0, i as i32 % bw + be0);
            let (l, nr) = (lte_mask[i].count_ones(), nr_mask[i].count_ones());
            if l == 0 {
                stats.lte_dead_cells += 1;
            }
            // 1&1 runs no GSM; 5G splits into DSS (on LTE sites) and NSA/SA.
            let gsm = (lte_mask[i] & 7).count_ones();
            let dss = nr.min(1);
            line.clear();
            use std::fmt::Write as _;
            let _ = writeln!(line, "100mN{n}E{e},{gsm},{l},{dss},{nr},{nr}");
            w.write_all(line.as_bytes()).map_err(Error::io("writing coverage.csv"))?;
            stats.coverage_cells += 1;
        }
        w.flush().map_err(Error::io("writing coverage.csv"))?;
    }
    let readme = format!(
        "SYNTHETIC demo data of Funkplan NRW (funkplan demo-data --scale {}), generated deterministically.\n\
         Invented municipalities (names like Beispielstadt, Musterdorf), households, sites and measures on real NRW\n\
         coordinates. Not real data; every record carries synthetic=true.\n\n{}\n",
        match scale {
            Scale::Small => "small",
            Scale::Nrw => "nrw",
        },
        serde_json::to_string_pretty(&stats).unwrap_or_default()
    );
    std::fs::write(out.join("README.txt"), readme).map_err(Error::io("writing README.txt"))?;
    Ok(stats)
}

/// The centre of a municipality's bounding box (its tile).
fn polygon_centre(m: &Muni) -> (f64, f64) {
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for r in &m.geom[0] {
        for &(x, y) in r {
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
    }
    ((x0 + x1) / 2.0, (y0 + y1) / 2.0)
}
