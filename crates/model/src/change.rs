//! What a committed write changed: the one word the API, the coverage
//! engine and the targets use for "these sites need new figures".

use crate::SiteId;

/// Which kind of data a write changed; it decides which targets must be
/// refreshed besides coverage.
///
/// Ordered by how much must be refreshed: `Sites < Measures`, so the
/// larger of two kinds covers both (a batch of writes refreshes
/// [`ChangeKind::max`] of theirs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    /// Sites changed (position, status, technologies): their coverage, and
    /// with it the coverage targets. The counts of completed measures
    /// cannot move.
    Sites,
    /// Measures changed: their sites' coverage and also the counts of
    /// completed measures, i.e. every target.
    Measures,
}

/// A committed change: its kind and the sites whose coverage may have
/// moved (a measure write names its site, old and new when it moved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// What kind of data changed.
    pub kind: ChangeKind,
    /// The sites concerned.
    pub sites: Vec<SiteId>,
}

impl Change {
    /// A change of these sites.
    #[must_use]
    pub fn sites(sites: Vec<SiteId>) -> Self {
        Self { kind: ChangeKind::Sites, sites }
    }

    /// A change of measures on these sites.
    #[must_use]
    pub fn measures(sites: Vec<SiteId>) -> Self {
        Self { kind: ChangeKind::Measures, sites }
    }

    /// The site ids as text (for logs and the engine's batches).
    #[must_use]
    pub fn site_ids(&self) -> Vec<String> {
        self.sites.iter().map(|s| s.as_str().to_owned()).collect()
    }
}
