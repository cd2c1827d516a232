//! The link from a committed write to the coverage engine.
//!
//! The API does not compute coverage; after a site or measure write has
//! committed it tells whoever does (the integrator wires the engine in
//! `funkplan serve`) what changed, as a [`Change`], and waits for it before
//! answering, so that the client's next read already shows the new figures.
//! A failing hook is logged, never returned: the write itself has been
//! committed.

use funkplan_model::Change;
use futures_util::future::BoxFuture;

/// Why the hook could not reflect a change; the cause is kept (the engine's
/// error with its database error inside), so the log shows the whole chain.
pub type HookError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Called after every committed site or measure write.
pub trait CoverageHook: Send + Sync + 'static {
    /// `change` committed: its sites' coverage may have moved, and for
    /// [`funkplan_model::ChangeKind::Measures`] also the counts of
    /// completed measures (a site write never changes those, so their
    /// targets may be left alone then). Resolves when the figures and
    /// target values in the database reflect the change.
    fn changed(&self, change: Change) -> BoxFuture<'static, Result<(), HookError>>;
}

/// `e` and its causes, `: `-separated, for one log line.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}
