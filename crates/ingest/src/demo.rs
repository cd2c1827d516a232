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
//!
//! `de` is all sixteen states ([`germany`]): NRW as in `nrw`, the other
//! fifteen with SYNTHETIC outlines and households, each state through the
//! same steps, streamed onto one set of files.

mod coverage;
pub mod germany;
mod households;
mod municipalities;
pub mod releases;
mod rng;
mod seeds;
mod sites;

use std::borrow::Cow;
use std::path::Path;

use crate::{Error, Result};

/// Dataset size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    Small,
    Nrw,
    /// All of Germany ([`germany::STATES`], see [`germany::generate`] for a
    /// selection of states).
    De,
}

impl std::str::FromStr for Scale {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "small" => Ok(Self::Small),
            "nrw" => Ok(Self::Nrw),
            "de" => Ok(Self::De),
            _ => Err(Error::Usage(format!("unknown scale {s:?}: small, nrw or de"))),
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

impl Stats {
    /// Add a state's counts to Germany's (releases: the same dates in
    /// every state, so the most of any).
    pub fn add(&mut self, o: &Stats) {
        self.municipalities += o.municipalities;
        self.grid_cells += o.grid_cells;
        self.census_cells += o.census_cells;
        self.households += o.households;
        self.sites += o.sites;
        self.measures += o.measures;
        self.coverage_cells += o.coverage_cells;
        self.lte_dead_cells += o.lte_dead_cells;
        self.coverage_releases = self.coverage_releases.max(o.coverage_releases);
    }
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
            Self::Nrw | Self::De => true,
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
    if scale == Scale::De {
        return germany::generate(&germany::STATES, out);
    }
    std::fs::create_dir_all(out).map_err(Error::io(format!("creating {}", out.display())))?;
    let munis = municipalities::read(scale)?;
    let n_remote = if scale == Scale::Small { 3 } else { NRW_REMOTE };
    let stats = steps(out, munis, |_, _, _| Ok(germany::real_census()), n_remote, &sites::Sizes::nrw(), &mut rng::Rng(rng::SEED))?;
    write_readme(out, scale, &stats)?;
    Ok(stats)
}

/// NRW's rural gaps without sites ([`sites::remote_areas`]); other
/// states have as many per area.
const NRW_REMOTE: usize = 14;

/// One state of a Germany set into `out` (a part directory,
/// [`germany::generate`]): NRW exactly as `--scale nrw`, another state
/// from its synthetic outlines (`rect`, [`germany::layout`]) and census.
fn generate_state(state: &germany::State, rect: Option<germany::Rect>, out: &Path) -> Result<Stats> {
    std::fs::create_dir_all(out).map_err(Error::io(format!("creating {}", out.display())))?;
    if !state.synthetic() {
        let munis = municipalities::read(Scale::Nrw)?;
        return steps(out, munis, |_, _, _| Ok(germany::real_census()), NRW_REMOTE, &sites::Sizes::nrw(), &mut rng::Rng(rng::SEED));
    }
    let rect = rect.ok_or_else(|| Error::Usage(format!("state {} has no place in the Germany layout", state.ags)))?;
    let mut rng = rng::Rng(germany::seed(state));
    let munis = germany::municipalities(state, rect, &mut rng)?;
    let factor = germany::factor(state);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let n_remote = (NRW_REMOTE as f64 * factor).round() as usize;
    let sizes = sites::Sizes { factor, id_prefix: format!("DEMO-{}-", state.ags) };
    steps(out, munis, |raster, munis, rng| germany::census(state, rect, raster, munis, rng).map(Cow::Owned), n_remote, &sizes, &mut rng)
}

/// The generator's steps on `munis`, with the census text `census` gives
/// once the raster is known.
fn steps(
    out: &Path,
    mut munis: Vec<municipalities::Muni>,
    census: impl FnOnce(&municipalities::Raster, &mut [municipalities::Muni], &mut rng::Rng) -> Result<Cow<'static, str>>,
    n_remote: usize,
    sizes: &sites::Sizes,
    rng: &mut rng::Rng,
) -> Result<Stats> {
    let model = seeds::Model::embedded()?;
    let mut stats = Stats { municipalities: munis.len(), ..Stats::default() };
    let raster = municipalities::Raster::of(&mut munis, &mut stats);
    let census = census(&raster, &mut munis, rng)?;
    let hh_utm = households::write(out, &census, &raster, &mut munis, &mut stats)?;
    drop(census);
    let remote = sites::remote_areas(n_remote, &munis, rng);
    municipalities::write(out, &munis)?;
    let plan = sites::plan(&raster, &hh_utm, &remote, sizes, rng);
    sites::write(out, &plan, &mut stats)?;
    coverage::write(out, &raster, &hh_utm, &model, &plan.sites, &mut stats)?;
    releases::write(out, &raster, &hh_utm, &model, &plan, &mut stats)?;
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
            Scale::De => "de",
        },
        serde_json::to_string_pretty(stats).unwrap_or_default()
    );
    std::fs::write(out.join("README.txt"), readme).map_err(Error::io("writing README.txt"))
}
