//! Wires the coverage engine into the HTTP server: after a committed write,
//! the API calls this hook, which recomputes the affected municipalities in
//! the in-memory engine and writes their figures before the client is
//! answered (DESIGN §7: a write is reflected within a second). Concurrent
//! writes share engine runs ([`Live::sites_updated`] groups them, issue 20);
//! each still answers only after a run that included its change committed.

use funkplan_api::CoverageHook;
use funkplan_coverage::Live;
use funkplan_db::Db;
use funkplan_targets::Refresh;
use futures_util::future::BoxFuture;

/// The engine kept by `funkplan serve`.
pub struct LiveHook {
    pub live: Live,
    pub db: Db,
}

impl LiveHook {
    fn update(&self, site_ids: Vec<String>, which: Refresh) -> BoxFuture<'static, Result<(), String>> {
        let live = self.live.clone();
        let db = self.db.clone();
        Box::pin(async move {
            let stats = live.sites_updated(&db, &site_ids, which).await.map_err(|e| e.to_string())?;
            tracing::debug!(
                sites = site_ids.len(),
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

impl CoverageHook for LiveHook {
    /// A site write: coverage and the coverage targets (no count of
    /// completed measures can have changed).
    fn sites_changed(&self, site_ids: Vec<String>) -> BoxFuture<'static, Result<(), String>> {
        self.update(site_ids, Refresh::Coverage)
    }

    /// A measure write: coverage and every target.
    fn measures_changed(&self, site_ids: Vec<String>) -> BoxFuture<'static, Result<(), String>> {
        self.update(site_ids, Refresh::All)
    }
}
