//! Steps 3 and 4: where sites stand (by household density, none in the
//! remote areas) and the build-out story told by their measures; written
//! as `sites.csv` and `measures.csv`.

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::Path;

use chrono::NaiveDate;

use super::municipalities::{Muni, Raster};
use super::rng::Rng;
use super::seeds::OPERATOR_SHARES;
use super::Stats;
use crate::crs::{Crs, Transformer};
use crate::{Error, Result};

/// Discs `(x, y, r)` kept free of sites.
pub(super) type Remote = Vec<(f64, f64, f64)>;

/// Rural gaps: the most thinly settled municipalities (households per
/// cell) keep an area around their middle without any site, so it stays
/// an LTE dead spot, as the real state has them (Eifel, Sauerland).
#[allow(clippy::cast_precision_loss)]
pub(super) fn remote_areas(n_remote: usize, munis: &[Muni], rng: &mut Rng) -> Remote {
    let mut by_density: Vec<usize> = (0..munis.len()).filter(|&k| munis[k].cells > 1_500).collect();
    by_density.sort_by(|&a, &b| {
        let d = |k: usize| munis[k].households / munis[k].cells as f64;
        d(a).total_cmp(&d(b)).then_with(|| munis[a].ags.cmp(&munis[b].ags))
    });
    let mut remote = Vec::new();
    for &k in by_density.iter().take(n_remote) {
        let m = &munis[k];
        let c = (m.sum_e / m.cells as f64, m.sum_n / m.cells as f64);
        // Wider than a rural LTE site reaches (4 km, seeds/coverage_model.json),
        // so that a core of 1.5 to 2.5 km radius stays without coverage.
        let r = 5_600.0 + rng.f() * 1_000.0;
        remote.push((c.0, c.1, r));
    }
    remote
}

/// A site of the demo.
#[derive(Clone)]
pub(super) struct Site {
    pub id: String,
    /// Index into [`OPERATOR_SHARES`].
    pub op: usize,
    /// Position in EPSG:25832.
    pub utm: (f64, f64),
    pub status: &'static str,
    pub lte: bool,
    pub nr: bool,
    pub planned: Option<NaiveDate>,
    pub on_air: Option<NaiveDate>,
}

/// A measure of the demo, on `sites[site]`.
pub(super) struct Measure {
    pub site: usize,
    pub kind: &'static str,
    pub status: &'static str,
    pub planned: Option<NaiveDate>,
    pub completed: Option<NaiveDate>,
}

/// Where sites go: cells sampled by households (towns get more) with a
/// rural floor, none in remote areas.
struct Placer<'a> {
    raster: &'a Raster,
    /// Cumulative weight and slot of every eligible cell.
    cdf: Vec<(f64, usize)>,
    total: f64,
}

impl<'a> Placer<'a> {
    fn new(raster: &'a Raster, hh_utm: &[f32], remote: &Remote) -> Self {
        let in_remote = |x: f64, y: f64| remote.iter().any(|&(rx, ry, r)| (x - rx).powi(2) + (y - ry).powi(2) < r * r);
        let mut cdf: Vec<(f64, usize)> = Vec::new();
        let mut acc = 0.0;
        for (i, &o) in raster.owner.iter().enumerate() {
            if o == 0 {
                continue;
            }
            let (n, e) = raster.cell(i);
            let (x, y) = (f64::from(e) * 100.0 + 50.0, f64::from(n) * 100.0 + 50.0);
            if in_remote(x, y) {
                continue;
            }
            acc += f64::from(hh_utm[i]).powf(0.8) + 0.6;
            cdf.push((acc, i));
        }
        Self { raster, cdf, total: acc }
    }

    /// A position near the centre of a sampled cell (which lies in the
    /// municipality).
    fn sample(&self, rng: &mut Rng) -> (f64, f64) {
        let t = rng.f() * self.total;
        let k = self.cdf.partition_point(|&(a, _)| a < t).min(self.cdf.len() - 1);
        let (n, e) = self.raster.cell(self.cdf[k].1);
        (f64::from(e) * 100.0 + 40.0 + rng.f() * 20.0, f64::from(n) * 100.0 + 40.0 + rng.f() * 20.0)
    }
}

/// An operator drawn by its share of existing or of new sites.
fn pick_op(rng: &mut Rng, new_site: bool) -> usize {
    let r = rng.f();
    let mut acc = 0.0;
    for (k, &(_, existing, new)) in OPERATOR_SHARES.iter().enumerate().take(OPERATOR_SHARES.len() - 1) {
        acc += if new_site { new } else { existing };
        if r < acc {
            return k;
        }
    }
    OPERATOR_SHARES.len() - 1
}

fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, dd).unwrap_or_default()
}

/// A date from a cumulative curve (date, count), by inverse CDF.
#[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss, clippy::cast_sign_loss)]
fn curve_date(rng: &mut Rng, pts: &[(NaiveDate, f64)]) -> NaiveDate {
    let total = pts[pts.len() - 1].1;
    let t = rng.f() * total;
    let k = pts.windows(2).position(|w| t < w[1].1).unwrap_or(pts.len() - 2);
    let (a, b) = (pts[k], pts[k + 1]);
    let frac = if b.1 > a.1 { (t - a.1) / (b.1 - a.1) } else { 0.0 };
    let days = ((b.0 - a.0).num_days() as f64 * frac) as u64;
    a.0 + chrono::Days::new(days)
}

/// The planned date of a measure completed on `c`.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn before(rng: &mut Rng, c: NaiveDate) -> NaiveDate {
    c - chrono::Days::new(60 + (rng.f() * 480.0) as u64)
}

/// The planned date of a measure not started yet.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn future_plan(rng: &mut Rng) -> NaiveDate {
    d(2026, 6, 1) + chrono::Days::new((rng.f() * 570.0) as u64)
}

/// The planned date of a measure in progress.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn running_plan(rng: &mut Rng) -> NaiveDate {
    d(2025, 3, 1) + chrono::Days::new((rng.f() * 390.0) as u64)
}

/// Sites on air before the story starts.
const N_EXISTING: usize = 22_000;

/// How many sites and measures, and how their ids begin: NRW's story
/// ([`Sizes::NRW`]) or another state's, scaled by its area (issue 24).
#[derive(Debug, Clone)]
pub(super) struct Sizes {
    /// Counts relative to NRW's (1.0: exactly NRW's).
    pub factor: f64,
    /// Site ids are `{prefix}S000001`, measure ids `{prefix}M000001`.
    pub id_prefix: String,
}

impl Sizes {
    pub(super) fn nrw() -> Self {
        Self { factor: 1.0, id_prefix: "DEMO-".into() }
    }

    /// `n` of NRW's story scaled (at least 1).
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    fn n(&self, n: usize) -> usize {
        ((n as f64 * self.factor).round() as usize).max(1)
    }
}

/// The sites and measures of the demo.
pub(super) struct Plan {
    pub sites: Vec<Site>,
    pub measures: Vec<Measure>,
    /// Measure ids are `{id_prefix}M000001`.
    pub id_prefix: String,
}

/// Place the sites and tell the build-out story with measures; ids
/// assigned, measures in date order.
pub(super) fn plan(raster: &Raster, hh_utm: &[f32], remote: &Remote, sizes: &Sizes, rng: &mut Rng) -> Plan {
    let placer = Placer::new(raster, hh_utm, remote);
    let mut plan = Plan { sites: existing_sites(&placer, sizes, rng), measures: Vec::new(), id_prefix: sizes.id_prefix.clone() };
    // Shuffled existing sites for the upgrades.
    let mut order: Vec<usize> = (0..sizes.n(N_EXISTING)).collect();
    for i in (1..order.len()).rev() {
        let j = rng.below(i + 1);
        order.swap(i, j);
    }
    five_g_upgrades(&mut plan, &order, sizes, rng);
    let k = sizes.n(7_000).min(order.len());
    order.rotate_left(k);
    lte_measures(&mut plan, &placer, &order, sizes, rng);
    // Ids in a spatial-free but stable order.
    for (i, s) in plan.sites.iter_mut().enumerate() {
        s.id = format!("{}S{:06}", sizes.id_prefix, i + 1);
    }
    // Measures sorted by date read naturally; ids follow that order.
    plan.measures.sort_by_key(|m| (m.completed.or(m.planned), m.site));
    plan
}

/// LTE sites on air since 2008–2018.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn existing_sites(placer: &Placer<'_>, sizes: &Sizes, rng: &mut Rng) -> Vec<Site> {
    let mut sites = Vec::with_capacity(sizes.n(N_EXISTING));
    for _ in 0..sizes.n(N_EXISTING) {
        let utm = placer.sample(rng);
        let op = pick_op(rng, false);
        let on_air = d(2008, 1, 1) + chrono::Days::new((rng.f() * 3_900.0) as u64);
        sites.push(Site { id: String::new(), op, utm, status: "on_air", lte: true, nr: false, planned: None, on_air: Some(on_air) });
    }
    sites
}

/// 5G upgrades of existing sites: 12,600 completed (passing 10,300 in
/// September 2024), 400 in progress, 600 planned.
fn five_g_upgrades(plan: &mut Plan, order: &[usize], sizes: &Sizes, rng: &mut Rng) {
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
    for (k, &s) in order.iter().take(sizes.n(13_600)).enumerate() {
        let (status, planned, completed) = if k < sizes.n(12_600) {
            let c = curve_date(rng, &five_g);
            ("completed", Some(before(rng, c)), Some(c))
        } else if k < sizes.n(13_000) {
            ("in_progress", Some(running_plan(rng)), None)
        } else {
            ("planned", Some(future_plan(rng)), None)
        };
        if completed.is_some() {
            plan.sites[s].nr = true;
        }
        plan.measures.push(Measure { site: s, kind: "5g_upgrade", status, planned, completed });
    }
}

/// LTE measures: 3,000 before the strategy (16 Nov 2021), 8,400 after,
/// 1,600 open; 40 % of them build a new site (rural first), the rest
/// upgrade one of `order`.
fn lte_measures(plan: &mut Plan, placer: &Placer<'_>, order: &[usize], sizes: &Sizes, rng: &mut Rng) {
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
    let mut upgrade_sites = order.iter().copied();
    for k in 0..sizes.n(13_000) {
        let (status, planned, completed) = if k < sizes.n(3_000) {
            let c = curve_date(rng, &lte_before);
            ("completed", Some(before(rng, c)), Some(c))
        } else if k < sizes.n(11_400) {
            let c = curve_date(rng, &lte_after);
            ("completed", Some(before(rng, c)), Some(c))
        } else if k < sizes.n(12_100) {
            ("in_progress", Some(running_plan(rng)), None)
        } else {
            ("planned", Some(future_plan(rng)), None)
        };
        if rng.f() < 0.4 {
            let utm = placer.sample(rng);
            let op = pick_op(rng, true);
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
            plan.sites.push(Site {
                id: String::new(),
                op,
                utm,
                status: site_status,
                lte: completed.is_some(),
                nr: false,
                planned,
                on_air: completed,
            });
            plan.measures.push(Measure { site: plan.sites.len() - 1, kind: "lte_new_site", status, planned, completed });
        } else {
            let s = upgrade_sites.next().unwrap_or(0);
            plan.measures.push(Measure { site: s, kind: "lte_upgrade", status, planned, completed });
        }
    }
}

/// `sites.csv` (WGS84) and `measures.csv`.
pub(super) fn write(out: &Path, plan: &Plan, stats: &mut Stats) -> Result<()> {
    let to_wgs = Transformer::new(Crs::UTM32, Crs::WGS84).map_err(Error::Usage)?;
    stats.sites = plan.sites.len();
    stats.measures = plan.measures.len();
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let mut s = String::from("site_id,operator,lon,lat,status,technologies,planned_date,on_air_date,synthetic\n");
    for site in &plan.sites {
        let (lon, lat) = to_wgs.transform(site.utm.0, site.utm.1).map_err(Error::Usage)?;
        let tech = match (site.nr, site.lte) {
            (true, true) => "5g|lte",
            (true, false) => "5g",
            (false, true) => "lte",
            (false, false) => "",
        };
        let op = OPERATOR_SHARES[site.op].0;
        let _ = writeln!(s, "{},{op},{lon:.6},{lat:.6},{},{tech},{},{},true", site.id, site.status, date(site.planned), date(site.on_air));
    }
    write_file(out, "sites.csv", &s)?;
    let mut s = String::from("measure_id,site_id,kind,status,planned_date,completed_date,synthetic\n");
    for (i, m) in plan.measures.iter().enumerate() {
        let _ = writeln!(s, "{}M{:06},{},{},{},{},{},true", plan.id_prefix, i + 1, plan.sites[m.site].id, m.kind, m.status, date(m.planned), date(m.completed));
    }
    write_file(out, "measures.csv", &s)
}

fn write_file(out: &Path, name: &str, text: &str) -> Result<()> {
    let f = std::fs::File::create(out.join(name)).map_err(Error::io(format!("creating {name}")))?;
    let mut w = BufWriter::new(f);
    w.write_all(text.as_bytes()).map_err(Error::io(format!("writing {name}")))?;
    w.flush().map_err(Error::io(format!("writing {name}")))
}
