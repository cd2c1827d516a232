//! `funkplan ingest KIND FILE`: load one input file (README.md, docs/data-formats.md), all or
//! nothing, with every bad row listed on stderr.

use std::path::PathBuf;

use anyhow::Context;
use funkplan_ingest::{Crs, Kind, Options};

use crate::config::Global;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum KindArg {
    Municipalities,
    Households,
    Sites,
    Measures,
    Coverage,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// What the file holds.
    #[arg(value_enum)]
    kind: KindArg,
    /// The input file: municipalities from GeoJSON, GeoPackage (.gpkg) or an ESRI Shapefile (.shp, or a .zip of
    /// one); sites from CSV or GeoJSON; the others from CSV, also inside a .zip. Coverage takes several files
    /// (releases of several dates, or partial files), applied in one transaction.
    #[arg(required = true, num_args = 1..)]
    files: Vec<PathBuf>,
    /// Coverage: the date of the release the file is (YYYY-MM-DD); default: the file name's YYYYMM prefix
    /// (202401_MobilfunkMonitoring.csv → 2024-01-01).
    #[arg(long, value_name = "YYYY-MM-DD")]
    as_of: Option<chrono::NaiveDate>,
    /// Coverage: merge the file's cells into the release of its date (or into a copy of the release in force
    /// then) instead of the file being that release whole.
    #[arg(long)]
    partial: bool,
    /// CRS of the coordinates when the file does not say (e.g. EPSG:25832); default EPSG:4326.
    #[arg(long)]
    crs: Option<String>,
    /// Validate and count only; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Require every AGS to start with these digits (e.g. 05 for NRW).
    #[arg(long)]
    state: Option<String>,
    /// Repair invalid municipality polygons with PostGIS ST_MakeValid instead of refusing them.
    #[arg(long)]
    make_valid: bool,
    /// Sites must lie within this many metres of the loaded municipalities
    /// (checked when any are loaded), as for `serve`.
    #[arg(long, env = "FUNKPLAN_SITE_MARGIN_M", default_value_t = funkplan_model::DEFAULT_SITE_MARGIN_M, value_parser = super::serve::metres)]
    site_margin_m: f64,
    /// The GeoPackage layer (or the shapefile inside a zip) to read; without it, the one polygon layer with an AGS field.
    #[arg(long)]
    layer: Option<String>,
}

pub async fn run(g: &Global, a: Args) -> anyhow::Result<()> {
    let kind = match a.kind {
        KindArg::Municipalities => Kind::Municipalities,
        KindArg::Households => Kind::Households,
        KindArg::Sites => Kind::Sites,
        KindArg::Measures => Kind::Measures,
        KindArg::Coverage => Kind::Coverage,
    };
    let crs = a.crs.as_deref().map(Crs::parse).transpose().map_err(|e| anyhow::anyhow!("--crs: {e}"))?;
    if let Some(s) = &a.state {
        anyhow::ensure!(!s.is_empty() && s.len() <= 8 && s.bytes().all(|b| b.is_ascii_digit()), "--state must be leading AGS digits, e.g. 05");
    }
    let coverage = matches!(a.kind, KindArg::Coverage);
    anyhow::ensure!(coverage || a.files.len() == 1, "ingest {kind} takes one file ({} given)", a.files.len());
    anyhow::ensure!(coverage || (a.as_of.is_none() && !a.partial), "--as-of and --partial are for ingest coverage");
    let opts = Options {
        crs,
        dry_run: a.dry_run,
        state: a.state,
        make_valid: a.make_valid,
        layer: a.layer,
        progress: true,
        today: None,
        site_margin_m: Some(a.site_margin_m),
        as_of: a.as_of,
        partial: a.partial,
    };
    let url = g.database_url().await?;
    let (mut client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .map_err(|e| funkplan_db::Error::Connect { url: funkplan_db::redact(&url), detail: funkplan_db::pg_detail(&e) })?;
    let conn = tokio::spawn(conn);
    let result = if coverage {
        funkplan_ingest::release::ingest_files(&mut client, &a.files, &opts).await
    } else {
        funkplan_ingest::ingest(&mut client, kind, &a.files[0], &opts).await.map(|s| vec![s])
    };
    drop(client);
    let _ = conn.await;
    let names = a.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(" ");
    match result {
        Ok(summaries) => {
            for s in summaries {
                outln!("{}", s.paragraph());
            }
            Ok(())
        }
        Err(e) => {
            // Every bad row on stderr first; the last line is the one-line reason.
            if let Some(list) = e.problem_list() {
                eprint!("{list}");
            }
            Err(e).with_context(|| format!("ingest {kind} {names}"))
        }
    }
}
