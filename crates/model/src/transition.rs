//! The status rules of sites and measures in one place, for the HTTP
//! writes and the ingest alike: which state may follow which, and an error
//! that lists what would have been allowed.

use std::fmt;

use crate::{MeasureStatus, SiteStatus};

/// A status with a lifecycle: a fixed table of allowed next states.
pub trait Lifecycle: Copy + Eq + fmt::Display + fmt::Debug + 'static {
    /// The states this one may move to (staying put is always allowed and
    /// not listed).
    fn allowed_next(self) -> &'static [Self];

    /// `to`, if `self → to` is a legal transition or no change.
    ///
    /// # Errors
    /// [`TransitionError`] naming both states and the allowed next ones.
    ///
    /// # Examples
    /// ```
    /// use funkplan_model::{Lifecycle, SiteStatus};
    /// assert!(SiteStatus::Planned.transition(SiteStatus::OnAir).is_ok());
    /// let e = SiteStatus::OnAir.transition(SiteStatus::Planned).unwrap_err();
    /// assert_eq!(e.to_string(), "cannot go from on_air to planned; allowed next: decommissioned");
    /// ```
    fn transition(self, to: Self) -> Result<Self, TransitionError<Self>> {
        if self == to || self.allowed_next().contains(&to) {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }
}

impl Lifecycle for SiteStatus {
    fn allowed_next(self) -> &'static [Self] {
        self.next()
    }
}

impl Lifecycle for MeasureStatus {
    fn allowed_next(self) -> &'static [Self] {
        self.next()
    }
}

/// A refused status change. Its message lists the allowed next states,
/// `none (final state)` when there are none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot go from {from} to {to}; allowed next: {}", self.allowed_words("none (final state)"))]
pub struct TransitionError<S: Lifecycle> {
    /// The state as stored.
    pub from: S,
    /// The state asked for.
    pub to: S,
}

impl<S: Lifecycle> TransitionError<S> {
    /// The states `from` may move to.
    #[must_use]
    pub fn allowed(&self) -> &'static [S] {
        self.from.allowed_next()
    }

    /// The allowed next states, comma separated, or `none` when the state is
    /// final (for messages that word it their own way).
    #[must_use]
    pub fn allowed_words(&self, none: &str) -> String {
        let next: Vec<String> = self.allowed().iter().map(ToString::to_string).collect();
        if next.is_empty() {
            none.to_owned()
        } else {
            next.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_list_the_allowed_next_states() {
        let e = SiteStatus::Construction.transition(SiteStatus::Planned).unwrap_err();
        assert_eq!(e.to_string(), "cannot go from construction to planned; allowed next: on_air, decommissioned");
        let e = MeasureStatus::Completed.transition(MeasureStatus::Planned).unwrap_err();
        assert_eq!(e.to_string(), "cannot go from completed to planned; allowed next: none (final state)");
        assert_eq!(e.allowed_words("none"), "none");
        assert_eq!(MeasureStatus::Completed.transition(MeasureStatus::Completed), Ok(MeasureStatus::Completed));
    }
}
