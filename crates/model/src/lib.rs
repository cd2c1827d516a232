#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
//!
//! The domain's words (AGS, cell, site status, measure kind …) as types, parsed once at the edge.
//!
//! Everything here is pure: no database, no files, no clock (the date rules
//! take "today" as an argument). Other crates take these types instead of
//! strings so that an AGS with seven digits, a cell id with a typo or a site
//! status `"onair"` cannot travel past the place that read it.

mod ags;
mod cell;
mod change;
mod dates;
mod enums;
mod ids;
mod metric;
mod area;
mod operator;
mod position;
mod transition;

pub use ags::Ags;
pub use area::DEFAULT_SITE_MARGIN_M;
pub use cell::{CellId, CELL_SIZE_M};
pub use dates::{
    check_on_air_date, plausible_date, DateError, DateField, COMPLETED_EARLIEST, PLANNED_EARLIEST, PLANNED_YEARS_AHEAD,
};
pub use enums::{CoverageSource, MeasureKind, MeasureStatus, Role, SiteStatus, Technology};
pub use change::{Change, ChangeKind};
pub use ids::{valid_id, IdError, MeasureId, SiteId, ID_MAX_LEN, ID_RULE};
pub use metric::Metric;
pub use operator::OperatorId;
pub use position::{Position, PositionError, WINDOW};
pub use transition::{Lifecycle, TransitionError};

/// Why a value could not be parsed into a domain type.
///
/// The message names the value and the rule it broke, so that ingest and the
/// HTTP edge can show it to people unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// An AGS that is not 8 digits.
    #[error("AGS {0:?} is not 8 digits")]
    Ags(String),
    /// A malformed cell id.
    #[error("cell id {0:?} is not of the form 100mN<northing/100>E<easting/100>")]
    CellId(String),
    /// A malformed operator id.
    #[error("operator id {0:?} must be lower-case letters, digits or '_' (e.g. telekom, 1und1)")]
    Operator(String),
    /// A word that is not one of an enumeration's.
    #[error("{value:?} is not a {what}; expected one of: {allowed}")]
    Enum {
        /// What was expected (e.g. "site status").
        what: &'static str,
        /// The word given.
        value: String,
        /// The words allowed, comma-separated.
        allowed: &'static str,
    },
}
