//! `funkplan demo-data [--scale small|nrw|de] [--state XX,…] OUT_DIR`: the
//! demo dataset — the real municipalities and census households of
//! `data/`, synthetic sites, measures and reported coverage on them; with
//! `de` all sixteen states, the fifteen besides NRW with synthetic outlines
//! and households (issue 24).

use std::path::PathBuf;

use funkplan_ingest::demo::{self, germany, Scale};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScaleArg {
    /// 42 real municipalities from Düsseldorf to Cologne: loads in seconds (scripts/demo).
    Small,
    /// All 396 real municipalities, ~3.4 M cells, ~8.2 M real households (benchmarks).
    Nrw,
    /// All 16 states (or those of --state): ~10,800 municipalities, ~35 M cells, ~41 M households; NRW real, the others SYNTHETIC.
    De,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, value_enum, default_value = "small")]
    scale: ScaleArg,
    /// With `--scale de`: the states to write, by their AGS prefix (`05`
    /// North Rhine-Westphalia, `09` Bavaria, …; comma-separated) or `all`
    /// [default: all]. A state's files are the same alone or among others.
    #[arg(long, value_delimiter = ',')]
    state: Vec<String>,
    /// Directory to write municipalities.geojson, households.csv, sites.csv, measures.csv and coverage.csv into.
    out_dir: PathBuf,
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    let scale = match a.scale {
        ScaleArg::Small => Scale::Small,
        ScaleArg::Nrw => Scale::Nrw,
        ScaleArg::De => Scale::De,
    };
    // small and nrw are NRW's own data; another state exists only in the Germany set.
    anyhow::ensure!(
        a.state.is_empty() || scale == Scale::De || a.state.iter().all(|s| s.trim() == germany::NRW),
        "--state {} needs --scale de (small and nrw are North Rhine-Westphalia, 05)",
        a.state.join(",")
    );
    let states = if scale == Scale::De { Some(germany::select(&a.state)?) } else { None };
    let out = a.out_dir.clone();
    let t = std::time::Instant::now();
    let st = states.clone();
    let stats = tokio::task::spawn_blocking(move || match st {
        Some(st) => germany::generate(&st, &out),
        None => demo::generate(scale, &out),
    })
    .await??;
    let what = match &states {
        Some(st) => format!(
            "states {} ({} with SYNTHETIC outlines and households)",
            st.iter().map(|s| s.ags).collect::<Vec<_>>().join(","),
            st.iter().filter(|s| s.synthetic()).count()
        ),
        None => "real NRW".to_owned(),
    };
    outln!(
        "Wrote the demo data to {} in {:.1} s: {what}: {} municipalities, {} grid cells, {} census cells with {} households; \
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
