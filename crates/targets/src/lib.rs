#![doc = include_str!("../README.md")]
//!
//! Target tracking (seeds/targets.json, docs/http.md): every target in the `target` table names
//! a metric the engine knows; this crate evaluates it against the data.
//!
//! Targets are data, so a new target is a new seed row with a known metric.
//! A new metric is a variant of [`funkplan_model::Metric`] and its
//! arithmetic in [`metric`] (see there).
//!
//! Metrics: `measures_completed` (params `kinds`, optional
//! `completed_after`), `household_share` and `area_share` (param
//! `technology`; percent, state-wide, actual coverage) and
//! `dead_spot_area_km2` (param `technology`; cells with no operator ×
//! 0.01 km²).
//!
//! History (`target_history`, one value per month) is rebuilt by
//! [`rebuild_history`] on every `funkplan recompute`: counts by replaying
//! measure completion dates from the first completed measure to today,
//! coverage metrics from the engine's month-by-month replay of sites going
//! on air (passed in by the coverage crate). [`refresh_current_month`]
//! updates the running month after a single write. The forecast is
//! described in [`forecast`].
//!
//! Modules by job: [`target`] (the seeded definitions), [`metric`] (each
//! metric's parameters and arithmetic), [`history`](mod@history) (the monthly history),
//! [`running_month`](mod@running_month) (the point recorded after a write), [`status`] (the
//! verdict now), [`forecast`].

#![warn(missing_docs)]

pub mod forecast;
pub mod history;
pub mod metric;
pub mod running_month;
mod row;
pub mod status;
pub mod target;

use funkplan_db::Error as DbError;

pub use forecast::{Forecast, HistoryPoint};
pub use history::{history, history_months, month_of, rebuild_history, CoveragePoint};
pub use metric::{metric_value, Definition};
pub use running_month::{refresh_current_month, running_month, RunningMonth};
pub use status::{progress, status_all, status_at, TargetStatus};
pub use target::{load, Comparator, Target};

/// Errors of target evaluation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing the database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A target's definition is broken (unknown comparator or metric, a
    /// parameter missing or malformed).
    #[error("target {id}: {reason}")]
    Definition {
        /// The target's id.
        id: String,
        /// What is wrong.
        reason: String,
    },
}

/// A result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
