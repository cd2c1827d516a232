#![doc = include_str!("../README.md")]
//!
//! Ingest for Funkplan NRW (README.md, docs/data-formats.md, issue 3): read, validate,
//! reproject and load the input files, all-or-nothing.
//!
//! Every ingest runs in one transaction. All rows are checked first and every
//! bad row is reported ([`Error::Invalid`], capped at [`problem::CAP`] with a
//! total); a file with any bad row changes nothing. Rows are upserted by
//! their natural id so that re-ingesting a file is a no-op, bulk rows travel
//! with binary `COPY`, and each ingest leaves a provenance row in
//! `ingest_run`. `--dry-run` does all of it and rolls back, so its counts
//! are exact and the database is untouched.
//!
//! [`demo`] writes the synthetic demo dataset in exactly these formats.

pub mod crs;
pub mod demo;
mod error;
pub mod formats;
pub mod grid;
mod pgcopy;
pub mod problem;
pub mod progress;
mod source;
mod geojson;
/// Database-free entry points to the parsers, for fuzzing (issue 8).
#[doc(hidden)]
pub mod fuzzing;

mod coverage;
pub mod release;
mod households;
mod measures;
mod municipalities;
mod sites;

use std::path::{Path, PathBuf};
use std::time::Instant;

pub use crs::Crs;
pub use error::{Error, Kind, Result};
pub use problem::{Loc, Problem};
pub use progress::Progress;

/// What the user asked for, besides the file.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--crs`: the CRS of the coordinates when the file does not say.
    pub crs: Option<Crs>,
    /// `--dry-run`: validate (and count) only; roll back.
    pub dry_run: bool,
    /// `--state 05`: every AGS must start with these digits.
    pub state: Option<String>,
    /// `--make-valid`: repair invalid polygons with `ST_MakeValid`.
    pub make_valid: bool,
    /// Show a progress bar when stderr is a terminal.
    pub progress: bool,
    /// `--layer`: the GeoPackage layer (or the shapefile in a zip) to read.
    pub layer: Option<String>,
    /// "Today" for the no-dates-in-the-future rule; `None` = the real today.
    pub today: Option<chrono::NaiveDate>,
    /// How far outside the loaded municipalities a site may lie (metres);
    /// `None` = [`funkplan_model::DEFAULT_SITE_MARGIN_M`].
    pub site_margin_m: Option<f64>,
    /// `--as-of`: the date of the coverage release a file is; `None` = the
    /// `YYYYMM` prefix of its name ([`release::date`]).
    pub as_of: Option<chrono::NaiveDate>,
    /// `--partial`: a coverage file is merged into the release of its date
    /// rather than being that release whole.
    pub partial: bool,
}

impl Options {
    fn today(&self) -> chrono::NaiveDate {
        self.today.unwrap_or_else(|| chrono::Local::now().date_naive())
    }
}

/// The outcome of one ingest.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Summary {
    pub kind: &'static str,
    pub file: String,
    pub sha256: String,
    /// Data rows (or features) in the file.
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub duration_ms: f64,
    pub dry_run: bool,
    /// Kind-specific figures (also stored in `ingest_run.detail`).
    pub detail: serde_json::Map<String, serde_json::Value>,
    /// Sentences for the summary paragraph (approximations, counts outside).
    pub notes: Vec<String>,
}

impl Summary {
    fn new(kind: Kind, path: &Path, opts: &Options) -> Self {
        Self {
            kind: kind.as_str(),
            file: formats::display_name(path, kind),
            sha256: String::new(),
            rows: 0,
            inserted: 0,
            updated: 0,
            unchanged: 0,
            duration_ms: 0.0,
            dry_run: opts.dry_run,
            detail: serde_json::Map::new(),
            notes: Vec::new(),
        }
    }

    /// One paragraph for the terminal.
    #[must_use]
    pub fn paragraph(&self) -> String {
        let verb = if self.dry_run { "Dry run (nothing written): would ingest" } else { "Ingested" };
        let mut s = format!(
            "{verb} {} from {} (SHA-256 {}…): {} rows; {} inserted, {} updated, {} unchanged; {:.2} s.",
            self.kind,
            self.file,
            &self.sha256.get(..12).unwrap_or(&self.sha256),
            self.rows,
            self.inserted,
            self.updated,
            self.unchanged,
            self.duration_ms / 1000.0
        );
        for n in &self.notes {
            s.push(' ');
            s.push_str(n);
        }
        s
    }
}

/// Ingest `path` as `kind` into the database behind `client`.
///
/// # Errors
/// [`Error::Invalid`] with every bad row when the file has any (nothing is
/// changed then), I/O and database errors otherwise.
///
/// Coverage is stored as a dated release ([`release::ingest_files`], which
/// also takes several files at once).
#[tracing::instrument(skip(client, opts), fields(kind = %kind, file = %path.display()))]
pub async fn ingest(client: &mut tokio_postgres::Client, kind: Kind, path: &Path, opts: &Options) -> Result<Summary> {
    if kind == Kind::Coverage {
        let mut all = release::ingest_files(client, &[path.to_owned()], opts).await?;
        return all.pop().ok_or_else(|| Error::Usage("ingest coverage: no release was made".into()));
    }
    let started = Instant::now();
    let mut summary = Summary::new(kind, path, opts);
    let path: PathBuf = path.to_owned();
    let tx = client.transaction().await.map_err(Error::pg("starting the ingest transaction"))?;
    match kind {
        Kind::Municipalities => municipalities::run(&tx, &path, opts, &mut summary).await?,
        Kind::Households => households::run(&tx, &path, opts, &mut summary).await?,
        Kind::Sites => sites::run(&tx, &path, opts, &mut summary).await?,
        Kind::Measures => measures::run(&tx, &path, opts, &mut summary).await?,
        Kind::Coverage => return Err(Error::Usage("coverage is ingested as releases (release::ingest_files)".into())),
    }
    summary.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    if opts.dry_run {
        tx.rollback().await.map_err(Error::pg("rolling back the dry run"))?;
    } else {
        record(&tx, &summary).await?;
        tx.commit().await.map_err(Error::pg("committing the ingest"))?;
    }
    summary.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(rows = summary.rows, inserted = summary.inserted, updated = summary.updated, ms = summary.duration_ms, "ingest done");
    Ok(summary)
}

/// The provenance row (issue 3): file, SHA-256, kind, counts, duration;
/// returns its id.
async fn record(tx: &tokio_postgres::Transaction<'_>, s: &Summary) -> Result<i64> {
    let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let row = tx.query_one(
        include_str!("../sql/ingest_run.sql"),
        &[
            &s.kind,
            &s.file,
            &s.sha256,
            &as_i64(s.rows),
            &as_i64(s.inserted),
            &as_i64(s.updated),
            &as_i64(s.unchanged),
            &s.duration_ms,
            &serde_json::Value::Object(s.detail.clone()),
        ],
    )
    .await
    .map_err(Error::pg("recording the ingest run"))?;
    col(&row, "id", "recording the ingest run")
}

/// Column `name` of `row`, read by name: a query whose columns drift is an
/// error naming `what` was being read, not a panic.
pub(crate) fn col<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a tokio_postgres::Row, name: &str, what: &'static str) -> Result<T> {
    row.try_get(name).map_err(Error::pg(what))
}

/// Split the counts of an upsert `RETURNING (xmax = 0)` (columns
/// `inserted`, `updated`).
pub(crate) fn split_counts(rows: &[tokio_postgres::Row]) -> Result<(u64, u64)> {
    let Some(r) = rows.first() else {
        return Ok((0, 0));
    };
    let ins: i64 = col(r, "inserted", "counting upserted rows")?;
    let upd: i64 = col(r, "updated", "counting upserted rows")?;
    Ok((u64::try_from(ins).unwrap_or(0), u64::try_from(upd).unwrap_or(0)))
}
