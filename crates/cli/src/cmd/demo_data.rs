//! `funkplan demo-data [--scale small|nrw] OUT_DIR`: the demo dataset — the
//! real municipalities and census households of `data/`, synthetic sites,
//! measures and reported coverage on them.

use std::path::PathBuf;

use funkplan_ingest::demo::{self, Scale};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ScaleArg {
    /// 42 real municipalities from Düsseldorf to Cologne: loads in seconds (scripts/demo).
    Small,
    /// All 396 real municipalities, ~3.4 M cells, ~8.2 M real households (benchmarks).
    Nrw,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, value_enum, default_value = "small")]
    scale: ScaleArg,
    /// Directory to write municipalities.geojson, households.csv, sites.csv, measures.csv and coverage.csv into.
    out_dir: PathBuf,
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    let scale = match a.scale {
        ScaleArg::Small => Scale::Small,
        ScaleArg::Nrw => Scale::Nrw,
    };
    let out = a.out_dir.clone();
    let t = std::time::Instant::now();
    let stats = tokio::task::spawn_blocking(move || demo::generate(scale, &out)).await??;
    outln!(
        "Wrote the demo data to {} in {:.1} s: {} real municipalities, {} grid cells, {} real census cells with {} households; \
         SYNTHETIC: {} sites, {} measures, {} coverage cells ({} LTE dead), {} quarterly coverage releases in releases/.",
        a.out_dir.display(),
        t.elapsed().as_secs_f64(),
        stats.municipalities,
        stats.grid_cells,
        stats.census_cells,
        stats.households,
        stats.sites,
        stats.measures,
        stats.coverage_cells,
        stats.lte_dead_cells,
        stats.coverage_releases
    );
    Ok(())
}
