//! Where a site may lie (issue 20, finding 4).

/// How far outside the loaded municipalities a site may lie, in metres,
/// unless configured otherwise (`FUNKPLAN_SITE_MARGIN_M`). Masts just across
/// the state border cover households inside it, so they belong in the data;
/// 20 km is more than the largest cell radius of the coverage model's
/// defaults, yet a site in Rome or Oslo lies hundreds of kilometres away.
pub const DEFAULT_SITE_MARGIN_M: f64 = 20_000.0;
