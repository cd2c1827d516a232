#![doc = include_str!("../README.md")]
//!
//! The coverage engine of Funkplan NRW (crates/coverage/README.md, BENCHMARKS.md; issue 4).
//!
//! - [`grid`]: the in-memory columnar 100 m grid (dense over its bounding
//!   box): municipality, households and the reported coverage per cell.
//! - [`engine`]: pure computation — urban/rural per site, disk stamping by
//!   rows into per-technology operator masks, sums per municipality.
//! - [`deadspot`]: LTE dead spots as traced polygons.
//! - [`load`] / [`write`](mod@write): PostgreSQL in (binary COPY streams) and out (one
//!   transaction per run).
//! - [`Live`]: the loaded engine kept by the server for incremental
//!   updates after a single write; concurrent writes' updates are grouped
//!   into one run (`batch`, group commit).
//! - [`releases`]: the dated releases of the reported coverage, the latest
//!   as the grid's layer and each older one as its changes.
//! - [`dated`]: figures for any date (the release in force then, the sites
//!   on air then); [`Live::figures_at`] for the server.
//! - [`changes`]: what changed in a municipality between two dates
//!   (gained, lost, dead cells; the changed areas as polygons).
//! - [`history`]: month-by-month replay for the targets' history, over the
//!   releases.
//! - [`snapshot`]: the loaded grid kept in a local file for cold starts,
//!   keyed by the database's generation counters (issue 24).
//! - [`reference`](mod@reference): the PostGIS reference in plain SQL, the test oracle.
//!
//! Coverage rule, everywhere: a site covers a cell when the distance from
//! the site to the cell's centre is at most the radius (inclusive, like
//! `ST_DWithin`).

#![warn(missing_docs)]

mod batch;
pub mod changes;
pub mod dated;
pub mod deadspot;
pub mod engine;
pub mod grid;
pub mod history;
// The write path (`live`, `write`) is being reworked under issue 21 (one
// change vocabulary); its public fields get their docs there, exempt until
// then.
#[allow(missing_docs)]
mod live;
pub mod load;
pub mod model;
pub mod planner;
pub mod reference;
pub mod releases;
pub mod series;
mod row;
pub mod snapshot;
pub mod tiles;
#[allow(missing_docs)]
pub mod write;

pub use funkplan_model::CoverageSource;
pub use batch::UpdateCounts;
pub use live::{default_source, Computed, FiguresAt, Live, Recompute, Stats};

/// Errors of the coverage engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the inputs or writing the figures failed.
    #[error(transparent)]
    Db(#[from] funkplan_db::Error),
    /// Recording the targets' history or running month failed.
    #[error("while updating target history: {0}")]
    Targets(#[from] funkplan_targets::Error),
    /// The data breaks a rule of the engine (an operator bit too high, a
    /// parameter missing, a malformed COPY stream).
    #[error("coverage data: {0}")]
    Data(String),
    /// The incremental run that served several writes at once failed; each
    /// of them gets this, with the run's error.
    #[error("coverage update of {writes} concurrent writes together: {source}")]
    Batch {
        /// How many writes the run served.
        writes: usize,
        /// The run's error.
        source: std::sync::Arc<Error>,
    },
}

/// A result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Run CPU-heavy work off the async worker where the runtime allows it
/// (multi-threaded), inline otherwise (a current-thread test runtime).
pub(crate) fn cpu<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}
