//! Which dates a site or measure may carry: the one rule for the HTTP API
//! and the ingest files (issue 20, finding 3).
//!
//! Without it, `0000-01-01` was stored (and came back as `0001-01-01 BC`),
//! `-5000-01-01` reached PostgreSQL and failed there, and a measure
//! "completed in 1900" stretched the targets' monthly history (which starts
//! at the first completion) from 480 to 361,620 rows. So every date must lie
//! in a window that real data can reach:
//!
//! | field | earliest | latest |
//! | --- | --- | --- |
//! | `planned_date` | 1990-01-01 | today + 10 years |
//! | `on_air_date` | 1990-01-01 | today |
//! | `completed_date` | 2019-01-01 | today |
//!
//! - **Completion** starts at [`COMPLETED_EARLIEST`], 2019-01-01: the
//!   measures the targets count begin there (Germany's first 5G sites went
//!   on air in 2019; the demo data's LTE measures "before the strategy"
//!   start on 2019-01-01, and its targets' history, from the first
//!   completion's month, is 96 months × 5 targets = 480 rows).
//! - **On air** starts with the planning window, not with the strategy: a
//!   site's `on_air_date` records when a mast went live, and the existing
//!   network is older than the strategy (GSM in Germany from 1992; the demo
//!   data's existing sites from 2008). It moves no target's history.
//! - **Planned** dates may lie in the future (that is what plans are for),
//!   but not beyond ten years: no rollout plan looks further.
//!
//! Things that cannot be, beyond the window:
//! - a completion or on-air date in the future (it has not happened yet);
//! - an `on_air_date` on a site that has not been on air yet
//!   ([`check_on_air_date`]); a decommissioned site keeps its date, it was on
//!   air once.
//!
//! Not refused, because it happens: a measure completed before its planned
//! date (finished ahead of plan: `planned_date` is the date it was planned
//! for) and a site on air before its planned date.

use std::fmt;

use chrono::{Months, NaiveDate};

use crate::SiteStatus;

/// Earliest planned or on-air date: before mobile networks in Germany
/// (1992), so no real date is refused.
pub const PLANNED_EARLIEST: NaiveDate = ymd(1990, 1, 1);

/// Earliest completion of a measure: the start of the mobile strategy's
/// data (see the module documentation).
pub const COMPLETED_EARLIEST: NaiveDate = ymd(2019, 1, 1);

/// How far ahead a planned date may lie.
pub const PLANNED_YEARS_AHEAD: u32 = 10;

const fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(d) => d,
        None => panic!("not a date"),
    }
}

/// A date field of a site or measure; each has its own window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DateField {
    /// `planned_date` of a site or measure.
    Planned,
    /// `on_air_date` of a site.
    OnAir,
    /// `completed_date` of a measure.
    Completed,
}

impl DateField {
    /// The field's name in files and JSON.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Planned => "planned_date",
            Self::OnAir => "on_air_date",
            Self::Completed => "completed_date",
        }
    }

    /// The first and last allowed date, given today's date.
    #[must_use]
    pub fn window(self, today: NaiveDate) -> (NaiveDate, NaiveDate) {
        match self {
            Self::Planned => {
                let last = today.checked_add_months(Months::new(12 * PLANNED_YEARS_AHEAD)).unwrap_or(NaiveDate::MAX);
                (PLANNED_EARLIEST, last)
            }
            Self::OnAir => (PLANNED_EARLIEST, today),
            Self::Completed => (COMPLETED_EARLIEST, today),
        }
    }

    /// Why the earliest date is what it is, for messages.
    const fn earliest_why(self) -> &'static str {
        match self {
            Self::Planned | Self::OnAir => "before mobile networks in Germany",
            Self::Completed => "the mobile strategy's data start on 2019-01-01",
        }
    }
}

impl fmt::Display for DateField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A date that cannot be: names the field, the value and the window.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DateError {
    /// Before the field's earliest date.
    #[error("{field} {value} is too early: {}", self.reason())]
    TooEarly {
        /// The field the date was given for.
        field: DateField,
        /// The date given.
        value: NaiveDate,
        /// The earliest date allowed.
        earliest: NaiveDate,
        /// The latest date allowed.
        latest: NaiveDate,
    },
    /// A completion or on-air date after today.
    #[error("{field} {value}: {}", self.reason())]
    Future {
        /// The field the date was given for.
        field: DateField,
        /// The date given.
        value: NaiveDate,
        /// Today, as the check saw it.
        today: NaiveDate,
    },
    /// A planned date beyond today + [`PLANNED_YEARS_AHEAD`] years.
    #[error("{field} {value} is too far ahead: {}", self.reason())]
    TooLate {
        /// The field the date was given for.
        field: DateField,
        /// The date given.
        value: NaiveDate,
        /// The earliest date allowed.
        earliest: NaiveDate,
        /// The latest date allowed.
        latest: NaiveDate,
    },
    /// An `on_air_date` on a site not yet on air.
    #[error("{field} {value}: {}", self.reason())]
    NotOnAir {
        /// The field the date was given for.
        field: DateField,
        /// The date given.
        value: NaiveDate,
        /// The site's status, which is not on air.
        status: SiteStatus,
    },
}

impl DateError {
    /// The field the error is about.
    #[must_use]
    pub fn field(&self) -> DateField {
        match self {
            Self::TooEarly { field, .. } | Self::Future { field, .. } | Self::TooLate { field, .. } | Self::NotOnAir { field, .. } => {
                *field
            }
        }
    }

    /// The reason without the field and value (the ingest shows those in
    /// columns of their own).
    #[must_use]
    pub fn reason(&self) -> String {
        match self {
            Self::TooEarly { field, earliest, latest, .. } => format!(
                "outside the plausible window {earliest} … {latest} for {field} (earlier is {})",
                field.earliest_why()
            ),
            Self::Future { today, .. } => format!("date lies in the future (today is {today}); it has not happened yet"),
            Self::TooLate { field, earliest, latest, .. } => format!(
                "outside the plausible window {earliest} … {latest} for {field} (plans reach at most {PLANNED_YEARS_AHEAD} years ahead)"
            ),
            Self::NotOnAir { status, .. } => {
                format!("a {status} site is not on air yet, so it has no on_air_date (leave it empty, or set status on_air)")
            }
        }
    }
}

/// `value` if it lies in `field`'s window for `today`, else why not.
pub fn plausible_date(field: DateField, value: NaiveDate, today: NaiveDate) -> Result<NaiveDate, DateError> {
    let (earliest, latest) = field.window(today);
    if value < earliest {
        return Err(DateError::TooEarly { field, value, earliest, latest });
    }
    if value > latest {
        return Err(match field {
            DateField::Planned => DateError::TooLate { field, value, earliest, latest },
            DateField::OnAir | DateField::Completed => DateError::Future { field, value, today },
        });
    }
    Ok(value)
}

/// An `on_air_date` only on a site that is or was on air: a site still
/// planned, in permitting or under construction has not gone live, so a
/// date of going live cannot be; a decommissioned site keeps the date it
/// went live.
pub fn check_on_air_date(status: SiteStatus, on_air_date: Option<NaiveDate>) -> Result<(), DateError> {
    match on_air_date {
        Some(value) if !status.has_been_on_air() => Err(DateError::NotOnAir { field: DateField::OnAir, value, status }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    const TODAY: &str = "2026-12-07";

    #[test]
    fn the_windows_of_each_field() {
        let today = d(TODAY);
        assert_eq!(DateField::Planned.window(today), (d("1990-01-01"), d("2036-12-07")));
        assert_eq!(DateField::OnAir.window(today), (d("1990-01-01"), today));
        assert_eq!(DateField::Completed.window(today), (d("2019-01-01"), today));
        // The ends are inside.
        for f in [DateField::Planned, DateField::OnAir, DateField::Completed] {
            let (a, b) = f.window(today);
            assert_eq!(plausible_date(f, a, today), Ok(a));
            assert_eq!(plausible_date(f, b, today), Ok(b));
        }
    }

    #[test]
    fn impossible_dates_are_refused_naming_field_and_window() {
        let today = d(TODAY);
        // Years 0 and -5000 parse as dates (chrono's range), but are no
        // plausible dates of any field.
        for raw in ["-5000-01-01", "0000-01-01", "1900-01-01", "1989-12-31"] {
            let v = d(raw);
            for f in [DateField::Planned, DateField::OnAir, DateField::Completed] {
                let e = plausible_date(f, v, today).unwrap_err();
                assert!(matches!(e, DateError::TooEarly { .. }), "{e:?}");
                assert_eq!(e.field(), f);
                let msg = e.to_string();
                assert!(msg.starts_with(f.name()) && msg.contains(&v.to_string()), "{msg}");
                assert!(msg.contains(&format!("{} … ", f.window(today).0)), "{msg}");
            }
        }
        let e = plausible_date(DateField::Completed, d("2018-12-31"), today).unwrap_err();
        assert!(e.to_string().contains("2019-01-01 … 2026-12-07"), "{e}");
        // Completion and on-air: not after today.
        for f in [DateField::OnAir, DateField::Completed] {
            let e = plausible_date(f, d("2026-12-08"), today).unwrap_err();
            assert!(matches!(e, DateError::Future { .. }), "{e:?}");
            assert!(e.reason().contains("date lies in the future"), "{e}");
        }
        // Planned: up to ten years ahead.
        assert!(plausible_date(DateField::Planned, d("2030-06-01"), today).is_ok());
        let e = plausible_date(DateField::Planned, d("2036-12-08"), today).unwrap_err();
        assert!(matches!(e, DateError::TooLate { .. }) && e.to_string().contains("1990-01-01 … 2036-12-07"), "{e}");
        // Completed before it was planned is no error here: ahead of plan.
        assert!(plausible_date(DateField::Completed, d("2020-01-01"), today).is_ok());
    }

    #[test]
    fn on_air_date_only_on_sites_that_have_been_on_air() {
        let v = Some(d("2024-01-01"));
        for s in [SiteStatus::Planned, SiteStatus::Permitting, SiteStatus::Construction] {
            let e = check_on_air_date(s, v).unwrap_err();
            assert_eq!(e.field(), DateField::OnAir);
            assert!(e.to_string().contains(&format!("a {s} site is not on air yet")), "{e}");
            assert_eq!(check_on_air_date(s, None), Ok(()));
        }
        assert_eq!(check_on_air_date(SiteStatus::OnAir, v), Ok(()));
        assert_eq!(check_on_air_date(SiteStatus::Decommissioned, v), Ok(()));
    }
}
