//! The link from a committed write to the coverage engine.
//!
//! The API does not compute coverage; after a site or measure write has
//! committed it tells whoever does (the integrator wires the engine in
//! `funkplan serve`) which sites changed, and waits for it before answering,
//! so that the client's next read already shows the new figures. A failing
//! hook is logged, never returned: the write itself has been committed.

use futures_util::future::BoxFuture;

/// Called after every committed site or measure write.
pub trait CoverageHook: Send + Sync + 'static {
    /// The sites whose coverage may have changed (a measure write passes its
    /// site, old and new when it moved). Resolves when the figures and
    /// target values in the database reflect the change.
    fn sites_changed(&self, site_ids: Vec<String>) -> BoxFuture<'static, Result<(), String>>;

    /// After a measure write: the measures' sites (old and new when the
    /// measure moved). Besides their coverage the counts of completed
    /// measures may have changed, which a site write never changes (so
    /// `sites_changed` may leave those targets alone). By default the same
    /// as `sites_changed`.
    fn measures_changed(&self, site_ids: Vec<String>) -> BoxFuture<'static, Result<(), String>> {
        self.sites_changed(site_ids)
    }
}
