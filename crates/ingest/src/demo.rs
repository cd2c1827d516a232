//! `funkplan demo-data`: the demo dataset in exactly the input formats of
//! docs/data-formats.md — the real NRW from the repository's `data/`, with synthetic
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
//! - `releases/YYYYMM_coverage.csv`: the same as quarterly releases
//!   2020-10 … 2026-10 (issue 16), SYNTHETIC: each sees the sites on air
//!   at its date, with a little noise; the first whole, the later ones only
//!   their changes (ingested with `--partial`); the newest equals
//!   `coverage.csv`.
//!
//! The story (both scales, the state-wide site and measure counts): 5G
//! upgrades pass 10,300 in September 2024 (target met), further LTE measures
//! after 16 Nov 2021 reach only ~7,050 by the end of 2024 and pass 7,500 in
//! mid-2025 (target missed, reached late), some measures remain planned, and
//! the most thinly settled municipalities keep areas without sites (LTE
//! dead spots). `small` is the Rhine from Düsseldorf to Cologne (42
//! municipalities, ~3,000 km²) and loads in seconds; `nrw` is all 396
//! municipalities with ~3.4 M cells and ~8.2 M households.
//!
//! The generator runs in named steps, one module each: [`municipalities`]
//! (the real outlines and the 100 m raster), [`households`], [`sites`]
//! (placement and the measures' story), [`coverage`] (drawn with the
//! seeded model, [`seeds`]) and [`releases`] (the same over time);
//! [`rng`] holds the fixed randomness. The same
//! seed gives the same bytes.

mod coverage;
mod households;
mod municipalities;
pub mod releases;
mod rng;
mod seeds;
mod sites;

use std::path::Path;

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
    /// Quarterly coverage releases written ([`releases`]).
    pub coverage_releases: usize,
}

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

/// Write the dataset of `scale` into `out` (created if missing).
///
/// # Errors
/// I/O errors while writing; a seed file lacking a radius, parameter or
/// operator the demo draws with.
pub fn generate(scale: Scale, out: &Path) -> Result<Stats> {
    std::fs::create_dir_all(out).map_err(Error::io(format!("creating {}", out.display())))?;
    let model = seeds::Model::embedded()?;
    let mut rng = rng::Rng(rng::SEED);
    let mut stats = Stats::default();
    let mut munis = municipalities::read(scale)?;
    stats.municipalities = munis.len();
    let raster = municipalities::Raster::of(&mut munis, &mut stats);
    let hh_utm = households::write(out, &raster, &mut munis, &mut stats)?;
    let remote = sites::remote_areas(scale, &munis, &mut rng);
    municipalities::write(out, &munis)?;
    let plan = sites::plan(&raster, &hh_utm, &remote, &mut rng);
    sites::write(out, &plan, &mut stats)?;
    coverage::write(out, &raster, &hh_utm, &model, &plan.sites, &mut stats)?;
    releases::write(out, &raster, &hh_utm, &model, &plan, &mut stats)?;
    write_readme(out, scale, &stats)?;
    Ok(stats)
}

/// `README.txt`: where the data comes from, what is synthetic, the counts.
fn write_readme(out: &Path, scale: Scale, stats: &Stats) -> Result<()> {
    let readme = format!(
        "Demo data of Funkplan NRW (funkplan demo-data --scale {}), generated deterministically.\n\
         Municipalities and households are the real open data (© GeoBasis-DE / BKG 2021 (Daten verändert);\n\
         © Statistisches Bundesamt (Destatis), Zensus 2022; both Datenlizenz Deutschland – Namensnennung 2.0).\n\
         Sites, measures and reported coverage are SYNTHETIC (every record carries synthetic=true).\n\n{}\n",
        match scale {
            Scale::Small => "small",
            Scale::Nrw => "nrw",
        },
        serde_json::to_string_pretty(stats).unwrap_or_default()
    );
    std::fs::write(out.join("README.txt"), readme).map_err(Error::io("writing README.txt"))
}
