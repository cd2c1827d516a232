//! `funkplan export --format csv|xlsx|gpkg [--level L] [--locale de] OUT`:
//! the files of `GET /api/v1/export/…` written to disk (issue 18 item 6),
//! made by the same code as the API's, so a file saved here and one
//! downloaded there are the same.

use anyhow::Context;

use crate::config::Global;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    /// UTF-8 with BOM; `--locale de` for German Excel.
    Csv,
    /// A workbook with typed cells and a sheet "Quelle".
    Xlsx,
    /// Every collection with geometry (EPSG:25832) as one GeoPackage.
    Gpkg,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Level {
    Municipalities,
    Districts,
    Regions,
    State,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The file format.
    #[arg(long, value_enum)]
    format: Format,
    /// Whose figures (CSV and XLSX; the GeoPackage holds every level).
    #[arg(long, value_enum, default_value = "municipalities")]
    level: Level,
    /// CSV only: `de` for `;` between fields and a decimal comma.
    #[arg(long)]
    locale: Option<String>,
    /// Where to write the file.
    out: std::path::PathBuf,
}

pub async fn run(g: &Global, a: Args) -> anyhow::Result<()> {
    let db = g.db().await?;
    let level = match a.level {
        Level::Municipalities => "municipalities",
        Level::Districts => "districts",
        Level::Regions => "regions",
        Level::State => "state",
    };
    let file = match a.format {
        Format::Csv => format!("{level}.csv"),
        Format::Xlsx => format!("{level}.xlsx"),
        Format::Gpkg => "funkplan.gpkg".to_owned(),
    };
    let (bytes, _, _) = funkplan_api::export(&db, &file, a.locale.as_deref()).await.map_err(|e| anyhow::anyhow!("export {file}: {e}"))?;
    // Written beside the target and renamed, so an interrupted export never
    // leaves a half file under the name asked for.
    let tmp = a.out.with_extension("part");
    std::fs::write(&tmp, &bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &a.out).with_context(|| format!("renaming {} to {}", tmp.display(), a.out.display()))?;
    outln!("{} written: {} bytes", a.out.display(), bytes.len());
    Ok(())
}
