//! The coverage engine of Funkplan NRW (DESIGN §2, §9; issue 4).
//!
//! - [`grid`]: the in-memory columnar 100 m grid (dense over its bounding
//!   box): municipality, households and the reported coverage per cell.
//! - [`engine`]: pure computation — urban/rural per site, disk stamping by
//!   rows into per-technology operator masks, sums per municipality.
//! - [`deadspot`]: LTE dead spots as traced polygons.
//! - [`load`] / [`write`]: PostgreSQL in (binary COPY streams) and out (one
//!   transaction per run).
//! - [`Live`]: the loaded engine kept by the server for incremental
//!   updates after a single write; concurrent writes' updates are grouped
//!   into one run (`batch`, group commit).
//! - [`history`]: month-by-month replay for the targets' history.
//! - [`reference`]: the PostGIS reference in plain SQL, the test oracle.
//!
//! Coverage rule, everywhere: a site covers a cell when the distance from
//! the site to the cell's centre is at most the radius (inclusive, like
//! `ST_DWithin`).

mod batch;
pub mod deadspot;
pub mod engine;
pub mod grid;
pub mod history;
mod live;
pub mod load;
pub mod model;
pub mod reference;
mod row;
pub mod write;

pub use funkplan_model::CoverageSource;
pub use batch::UpdateCounts;
pub use live::{default_source, Computed, Live, Recompute, Stats};

/// Errors of the coverage engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Db(#[from] funkplan_db::Error),
    #[error("while updating target history: {0}")]
    Targets(#[from] funkplan_targets::Error),
    #[error("coverage data: {0}")]
    Data(String),
    /// The incremental run that served several writes at once failed; each
    /// of them gets this, with the run's error.
    #[error("coverage update of {writes} concurrent writes together: {source}")]
    Batch { writes: usize, source: std::sync::Arc<Error> },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Run CPU-heavy work off the async worker where the runtime allows it
/// (multi-threaded), inline otherwise (a current-thread test runtime).
pub(crate) fn cpu<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}
