//! `funkplan demo-data`: the demo dataset in exactly the input formats of
//! DESIGN §6 — the real NRW from the repository's `data/`, with synthetic
//! sites, measures and reported coverage generated on it (and labelled so).
//!
//! - `municipalities.geojson`: the real municipalities (BKG VG5000, WGS84,
//!   properties `AGS`, `GEN`, `BEZ`, …, plus `EWZ` from the Destatis register
//!   and `synthetic: false`).
//! - `households.csv`: the real census 2022 1 km grid (`GITTER_ID_1km,
//!   x_mp_1km,y_mp_1km,Einwohner,HHGroesse_D`; households = population /
//!   average household size), the cells of the chosen municipalities.
//! - `sites.csv`: `site_id,operator,lon,lat,status,technologies,planned_date,on_air_date,synthetic`
//!   (WGS84, technologies separated by `|`), SYNTHETIC: placed by household
//!   density with a rural floor, none in a few thinly settled areas.
//! - `measures.csv`: `measure_id,site_id,kind,status,planned_date,completed_date,synthetic`, SYNTHETIC.
//! - `coverage.csv`: the regulator's format `id,gsm_out,lte,nr_dss,nr_nsa_sa,nr_gesamt`
//!   for every grid cell, SYNTHETIC: from the on-air sites with the seeded
//!   radii (urban/rural by household density), so the rural gaps stay LTE
//!   dead spots.
//!
//! The story (both scales, the state-wide site and measure counts): 5G
//! upgrades pass 10,300 in September 2024 (target met), further LTE measures
//! after 16 Nov 2021 reach only ~7,050 by the end of 2024 and pass 7,500 in
//! mid-2025 (target missed, reached late), some measures remain planned, and
//! the most thinly settled municipalities keep areas without sites (LTE
//! dead spots). `small` is the Rhine from Düsseldorf to Cologne (42
//! municipalities, ~3,000 km²) and loads in seconds; `nrw` is all 396
//! municipalities with ~3.4 M cells and ~8.2 M households.

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

const SEED: u64 = 0x00F0_4E9A_2021_1116;

/// The real open data the demo runs on (the repository's `data/`, see
/// `data/README.md` for sources and licences), compiled in so that
/// `funkplan demo-data` works from any directory and needs no path.
const REAL_MUNICIPALITIES: &str = include_str!("../../../data/nrw-gemeinden-vg5000-2021.geojson");
const REAL_CENSUS_1KM: &str = include_str!("../../../data/nrw-zensus2022-1km.csv");
const REAL_REGISTER: &str = include_str!("../../../data/destatis-gemeindeverzeichnis-2019-nrw.csv");

/// Districts (first five AGS digits) of the small scale: the Rhine from
/// Düsseldorf to Cologne with the Bergisches Land and the Rhein-Erft-Kreis —
/// 42 municipalities, ~3,000 km² (the size the synthetic tiling had), cities
/// and farmland, so that it loads in seconds and still has rural gaps.
const SMALL_DISTRICTS: &[&str] = &["05111", "05120", "05122", "05124", "05158", "05162", "05315", "05316", "05362", "05378"];

impl Scale {
    fn includes(self, ags: &str) -> bool {
        match self {
            Self::Nrw => true,
            Self::Small => SMALL_DISTRICTS.iter().any(|d| ags.starts_with(d)),
        }
    }
}

struct Muni {
    /// The feature of the real file, written out unchanged but for the
    /// properties added (`EWZ`, `synthetic: false`).
    feature: serde_json::Value,
    ags: String,
    /// Outline in EPSG:25832.
    geom: MultiPolygon,
    households: f64,
    cells: u64,
    /// Sum of the 25832 cell centres, for the centre of the municipality.
    sum_e: f64,
    sum_n: f64,
}

/// Population per AGS from the municipality register (`bevoelkerung`,
/// spaces as thousands separators).
fn register_population() -> std::collections::HashMap<String, i64> {
    let mut out = std::collections::HashMap::new();
    let mut lines = REAL_REGISTER.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (Some(land), Some(rb), Some(kreis), Some(gem), Some(pop)) =
        (col("land"), col("rb"), col("kreis"), col("gemeinde"), col("bevoelkerung"))
    else {
        return out;
    };
    for line in lines {
        // Quoted names hold commas; the columns needed lie before them
        // (AGS parts) or are read from a split that respects quotes.
        let fields = split_csv(line);
        let get = |i: usize| fields.get(i).map(String::as_str).unwrap_or_default();
        let ags = format!("{}{}{}{}", get(land), get(rb), get(kreis), get(gem));
        if let Ok(p) = get(pop).replace(' ', "").parse::<i64>() {
            out.insert(ags, p);
        }
    }
    out
}

/// A CSV line split at commas outside double quotes.
fn split_csv(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    for ch in line.chars() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(String::new()),
            c => out.last_mut().map_or((), |s| s.push(c)),
        }
    }
    out
}

/// A hash of integers in [0, 1), fixed forever like [`Rng`].
#[allow(clippy::cast_precision_loss, clippy::cast_sign_loss)]
fn h01(a: i64, b: i64, c: i64) -> f64 {
    let z = mix(mix(mix(0x5EED ^ a as u64) ^ b as u64) ^ c as u64);
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// The 1 km census cell with centre (`x`, `y`) as the census's published
/// 100 m layout (`;`-separated, inhabited cells only): its population spread
/// over the 100 sub-cells by fixed pseudo-random weights (a third empty),
/// households = population / the cell's average household size. SYNTHETIC
/// detail of real totals: it exists for benchmarks of the 100 m layout
/// (the real 100 m file is not shipped), not for the demo's figures.
#[allow(clippy::cast_possible_truncation)]
fn write_100m(w: &mut BufWriter<std::fs::File>, line: &mut String, x: f64, y: f64, pop: f64, size: f64) -> Result<()> {
    use std::fmt::Write as _;
    let (e0, n0) = ((x - 500.0) as i64, (y - 500.0) as i64);
    let weight = |i: i64, j: i64| {
        let r = h01(n0 + i * 100, e0 + j * 100, 12);
        if r < 0.33 {
            0.0
        } else {
            r
        }
    };
    let total: f64 = (0..10).flat_map(|i| (0..10).map(move |j| (i, j))).map(|(i, j)| weight(i, j)).sum();
    for i in 0..10 {
        for j in 0..10 {
            let share = pop * weight(i, j) / total;
            let p = (share + h01(n0 + i * 100, e0 + j * 100, 13)).floor();
            if p <= 0.0 {
                continue;
            }
            let (n, e) = (n0 + i * 100, e0 + j * 100);
            line.clear();
            let _ = writeln!(line, "CRS3035RES100mN{n}E{e};{};{};{p};{}", e + 50, n + 50, (p / size).round());
            w.write_all(line.as_bytes()).map_err(Error::io("writing households-100m.csv"))?;
        }
    }
    Ok(())
}

/// Write the dataset of `scale` into `out` (created if missing).
///
/// # Errors
/// I/O errors while writing.
#[allow(clippy::too_many_lines, clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub fn generate(scale: Scale, out: &Path) -> Result<Stats> {
    std::fs::create_dir_all(out).map_err(Error::io(format!("creating {}", out.display())))?;
    let mut rng = Rng(SEED);
    let mut stats = Stats::default();
    let to_utm_wgs = Transformer::new(Crs::WGS84, Crs::UTM32).map_err(Error::Usage)?;

    // The real municipalities of the scale, outlines in EPSG:25832.
    let doc: serde_json::Value =
        serde_json::from_str(REAL_MUNICIPALITIES).map_err(|e| Error::Usage(format!("the shipped municipalities: {e}")))?;
    let population = register_population();
    let mut munis: Vec<Muni> = Vec::new();
    for f in doc["features"].as_array().map_or(&[][..], Vec::as_slice) {
        let Some(ags) = f["properties"]["AGS"].as_str() else { continue };
        if !scale.includes(ags) {
            continue;
        }
        let polys: Vec<&serde_json::Value> = match f["geometry"]["type"].as_str() {
            Some("Polygon") => vec![&f["geometry"]["coordinates"]],
            Some("MultiPolygon") => f["geometry"]["coordinates"].as_array().map(|a| a.iter().collect()).unwrap_or_default(),
            _ => continue,
        };
        let mut geom: MultiPolygon = Vec::new();
        for p in polys {
            let mut poly = Vec::new();
            for r in p.as_array().map_or(&[][..], Vec::as_slice) {
                let mut ring = Vec::new();
                for pt in r.as_array().map_or(&[][..], Vec::as_slice) {
                    let (Some(lon), Some(lat)) = (pt[0].as_f64(), pt[1].as_f64()) else { continue };
                    ring.push(to_utm_wgs.transform(lon, lat).map_err(Error::Usage)?);
                }
                poly.push(ring);
            }
            geom.push(poly);
        }
        let mut feature = f.clone();
        if let Some(props) = feature["properties"].as_object_mut() {
            if let Some(p) = population.get(ags) {
                props.insert("EWZ".into(), (*p).into());
            }
            props.insert("synthetic".into(), false.into());
        }
        munis.push(Muni { feature, ags: ags.to_owned(), geom, households: 0.0, cells: 0, sum_e: 0.0, sum_n: 0.0 });
    }
    stats.municipalities = munis.len();

    // The 25832 grid over the municipalities' extent: cell → municipality.
    let (mut e_min, mut n_min, mut e_max, mut n_max) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for m in &munis {
        for &(e, n) in m.geom.iter().flatten().flatten() {
            e_min = e_min.min(e);
            n_min = n_min.min(n);
            e_max = e_max.max(e);
            n_max = n_max.max(n);
        }
    }
    let (be0, bn0) = ((e_min / 100.0).floor() as i32 - 15, (n_min / 100.0).floor() as i32 - 15);
    let bw = ((e_max - e_min) / 100.0) as i32 + 31;
    let bh = ((n_max - n_min) / 100.0) as i32 + 31;
    let mut owner: Vec<u16> = vec![0; (bw * bh) as usize];
    let at = |n: i32, e: i32| -> Option<usize> {
        let (r, c) = (n - bn0, e - be0);
        (r >= 0 && c >= 0 && r < bh && c < bw).then(|| (r * bw + c) as usize)
    };
    for (k, m) in munis.iter_mut().enumerate() {
        grid::rasterise(&m.geom, |n, e| {
            if let Some(i) = at(n, e) {
                if owner[i] == 0 {
                    owner[i] = k as u16 + 1;
                    stats.grid_cells += 1;
                    m.cells += 1;
                    m.sum_e += f64::from(e) * 100.0 + 50.0;
                    m.sum_n += f64::from(n) * 100.0 + 50.0;
                }
            }
        });
    }

    // Households: the real census 2022 1 km grid (households = population
    // / average household size, as the ingest computes them), written out
    // unchanged for the cells of the scale and spread over the 25832 cells
    // the way `ingest households` spreads them, for placing sites.
    let to_utm = Transformer::new(Crs::LAEA, Crs::UTM32).map_err(Error::Usage)?;
    let mut hh_utm: Vec<f32> = vec![0.0; owner.len()];
    {
        let f = std::fs::File::create(out.join("households.csv")).map_err(Error::io("creating households.csv"))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        let f100 = std::fs::File::create(out.join("households-100m.csv")).map_err(Error::io("creating households-100m.csv"))?;
        let mut w100 = BufWriter::with_capacity(1 << 20, f100);
        w100.write_all(b"GITTER_ID_100m;x_mp_100m;y_mp_100m;Einwohner;Haushalte\n").map_err(Error::io("writing households-100m.csv"))?;
        let mut line100 = String::with_capacity(96);
        let mut lines = REAL_CENSUS_1KM.lines();
        let header = lines.next().unwrap_or_default();
        w.write_all(header.as_bytes()).and_then(|()| w.write_all(b"\n")).map_err(Error::io("writing households.csv"))?;
        for line in lines {
            let f: Vec<&str> = line.split(',').collect();
            let (Some(x), Some(y), Some(pop), Some(size)) = (f.get(1), f.get(2), f.get(3), f.get(4)) else { continue };
            let (Ok(x), Ok(y)) = (x.parse::<f64>(), y.parse::<f64>()) else { continue };
            let (ce, cn) = to_utm.transform(x, y).map_err(Error::Usage)?;
            let centre = funkplan_model::CellId::containing(ce, cn);
            // A cell of the scale: its centre in one of its municipalities
            // (border cells go wholly to one side, as near enough for a demo).
            if at(centre.n, centre.e).is_none_or(|i| owner[i] == 0) {
                continue;
            }
            stats.census_cells += 1;
            w.write_all(line.as_bytes()).and_then(|()| w.write_all(b"\n")).map_err(Error::io("writing households.csv"))?;
            let (Ok(pop), Ok(size)) = (pop.parse::<f64>(), size.parse::<f64>()) else { continue };
            if pop <= 0.0 || size <= 0.0 {
                continue;
            }
            let hh = pop / size;
            stats.households += hh.round() as u64;
            write_100m(&mut w100, &mut line100, x, y, pop, size)?;
            for i in 0..10 {
                for j in 0..10 {
                    let (sx, sy) = (x - 500.0 + f64::from(j) * 100.0 + 50.0, y - 500.0 + f64::from(i) * 100.0 + 50.0);
                    let (ue, un) = to_utm.transform(sx, sy).map_err(Error::Usage)?;
                    let c = funkplan_model::CellId::containing(ue, un);
                    if let Some(k) = at(c.n, c.e) {
                        hh_utm[k] += (hh / 100.0) as f32;
                        if owner[k] != 0 {
                            munis[owner[k] as usize - 1].households += hh / 100.0;
                        }
                    }
                }
            }
        }
        w.flush().map_err(Error::io("writing households.csv"))?;
        w100.flush().map_err(Error::io("writing households-100m.csv"))?;
    }

    // Rural gaps: the most thinly settled municipalities (households per
    // cell) keep an area around their middle without any site, so it stays
    // an LTE dead spot, as the real state has them (Eifel, Sauerland).
    let n_remote = match scale {
        Scale::Nrw => 14,
        Scale::Small => 3,
    };
    let mut by_density: Vec<usize> = (0..munis.len()).filter(|&k| munis[k].cells > 1_500).collect();
    by_density.sort_by(|&a, &b| {
        let d = |k: usize| munis[k].households / munis[k].cells as f64;
        d(a).total_cmp(&d(b)).then_with(|| munis[a].ags.cmp(&munis[b].ags))
    });
    let mut remote: Vec<(f64, f64, f64)> = Vec::new();
    for &k in by_density.iter().take(n_remote) {
        let m = &munis[k];
        let c = (m.sum_e / m.cells as f64, m.sum_n / m.cells as f64);
        // Wider than a rural LTE site reaches (4 km, seeds/coverage_model.json),
        // so that a core of 1.5 to 2.5 km radius stays without coverage.
        let r = 5_600.0 + rng.f() * 1_000.0;
        remote.push((c.0, c.1, r));
    }
    let in_remote = |x: f64, y: f64| remote.iter().any(|&(rx, ry, r)| (x - rx).powi(2) + (y - ry).powi(2) < r * r);

    // Municipalities file: the real features, WGS84 as published.
    {
        let features: Vec<&serde_json::Value> = munis.iter().map(|m| &m.feature).collect();
        let doc = serde_json::json!({
            "type": "FeatureCollection",
            "name": "NRW municipalities, VG5000 (© GeoBasis-DE / BKG 2021, Daten verändert; dl-de/by-2-0)",
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
        "Demo data of Funkplan NRW (funkplan demo-data --scale {}), generated deterministically.\n\
         Municipalities and households are the real open data (© GeoBasis-DE / BKG 2021 (Daten verändert);\n\
         © Statistisches Bundesamt (Destatis), Zensus 2022; both Datenlizenz Deutschland – Namensnennung 2.0).\n\
         Sites, measures and reported coverage are SYNTHETIC (every record carries synthetic=true).\n\n{}\n",
        match scale {
            Scale::Small => "small",
            Scale::Nrw => "nrw",
        },
        serde_json::to_string_pretty(&stats).unwrap_or_default()
    );
    std::fs::write(out.join("README.txt"), readme).map_err(Error::io("writing README.txt"))?;
    Ok(stats)
}
