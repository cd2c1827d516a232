//! Wires the coverage engine into the HTTP server: after a committed write,
//! the API calls this hook, which recomputes the affected municipalities in
//! the in-memory engine and writes their figures before the client is
//! answered (a write is reflected in the figures within a second, BENCHMARKS.md). Concurrent
//! writes share engine runs ([`Live::apply`] groups them, issue 20); each
//! still answers only after a run that included its change committed.

use funkplan_api::{CoverageHook, HookError};
use funkplan_coverage::Live;
use funkplan_db::Db;
use funkplan_model::Change;
use futures_util::future::BoxFuture;

/// The engine kept by `funkplan serve`.
pub struct LiveHook {
    pub live: Live,
    pub db: Db,
}

impl CoverageHook for LiveHook {
    /// Coverage of the change's sites, and the targets its kind can move (a
    /// site write changes no count of completed measures).
    fn changed(&self, change: Change) -> BoxFuture<'static, Result<(), HookError>> {
        let live = self.live.clone();
        let db = self.db.clone();
        Box::pin(async move {
            let stats = live.apply(&db, &change).await?;
            tracing::debug!(
                sites = change.sites.len(),
                grouped_writes = stats.batch_writes,
                municipalities = stats.municipalities,
                compute_ms = stats.compute_ms,
                write_ms = stats.write_ms,
                "incremental recompute"
            );
            Ok(())
        })
    }
}
