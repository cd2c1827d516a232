//! The date of a coverage release: `--as-of`, else the `YYYYMM` prefix the
//! regulator puts in its file names (`202401_MobilfunkMonitoring.csv` →
//! 2024-01-01), checked against the window a release can have.

use chrono::{Datelike, NaiveDate};

/// The first release date the schema accepts (`coverage_release.as_of`):
/// the targets' history starts in 2019.
pub const FIRST: NaiveDate = match NaiveDate::from_ymd_opt(2019, 1, 1) {
    Some(d) => d,
    None => panic!("2019-01-01 is a date"),
};

/// Why a release date was refused; the message names the file and says
/// what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DateError {
    #[error("{file}: no release date: the file name has no YYYYMM prefix (e.g. 202401_MobilfunkMonitoring.csv); pass --as-of YYYY-MM-DD")]
    Missing { file: String },
    #[error("{file}: release date {date} ({from}) lies in the future (today is {today})")]
    Future { file: String, date: NaiveDate, from: &'static str, today: NaiveDate },
    #[error("{file}: release date {date} ({from}) is before {FIRST}, where the history starts")]
    TooEarly { file: String, date: NaiveDate, from: &'static str },
    #[error("{file}: the file name says {name_month} but --as-of says {as_of}: which is the release's date?")]
    Contradicts { file: String, name_month: String, as_of: NaiveDate },
}

/// The first day of the month of a leading `YYYYMM` in `name` (followed by
/// a non-digit or the end), if it has one.
#[must_use]
pub fn from_name(name: &str) -> Option<NaiveDate> {
    let b = name.as_bytes();
    if b.len() < 6 || !b[..6].iter().all(u8::is_ascii_digit) || b[6..].first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let year: i32 = name[..4].parse().ok()?;
    let month: u32 = name[4..6].parse().ok()?;
    NaiveDate::from_ymd_opt(year, month, 1)
}

/// The release date of the file named `file` (its own name, not a path):
/// `as_of` when given (and then a `YYYYMM` in the name must be the same
/// year and month), else the name's. Refused outside [`FIRST`]..=`today`.
///
/// # Errors
/// A [`DateError`] naming the file and what is wrong.
pub fn resolve(file: &str, as_of: Option<NaiveDate>, today: NaiveDate) -> Result<NaiveDate, DateError> {
    let named = from_name(file);
    let (date, from) = match (as_of, named) {
        (Some(a), Some(n)) if (a.year(), a.month()) != (n.year(), n.month()) => {
            return Err(DateError::Contradicts { file: file.to_owned(), name_month: n.format("%Y-%m").to_string(), as_of: a });
        }
        (Some(a), _) => (a, "--as-of"),
        (None, Some(n)) => (n, "from the file name"),
        (None, None) => return Err(DateError::Missing { file: file.to_owned() }),
    };
    if date > today {
        return Err(DateError::Future { file: file.to_owned(), date, from, today });
    }
    if date < FIRST {
        return Err(DateError::TooEarly { file: file.to_owned(), date, from });
    }
    Ok(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or(FIRST)
    }

    #[test]
    fn name_prefix() {
        assert_eq!(from_name("202401_MobilfunkMonitoring.csv"), Some(d(2024, 1, 1)));
        assert_eq!(from_name("202010.csv"), Some(d(2020, 10, 1)));
        assert_eq!(from_name("20240115_x.csv"), None, "eight digits are not YYYYMM");
        assert_eq!(from_name("202413_x.csv"), None, "month 13");
        assert_eq!(from_name("coverage.csv"), None);
        assert_eq!(from_name("2024"), None);
    }

    #[test]
    fn resolve_rules() {
        let today = d(2026, 11, 23);
        assert_eq!(resolve("202401_a.csv", None, today), Ok(d(2024, 1, 1)));
        assert_eq!(resolve("202401_a.csv", Some(d(2024, 1, 15)), today), Ok(d(2024, 1, 15)), "same month: --as-of wins");
        assert_eq!(resolve("cov.csv", Some(d(2024, 3, 31)), today), Ok(d(2024, 3, 31)));
        assert!(matches!(resolve("cov.csv", None, today), Err(DateError::Missing { .. })));
        assert!(matches!(resolve("202401_a.csv", Some(d(2024, 2, 1)), today), Err(DateError::Contradicts { .. })));
        assert!(matches!(resolve("cov.csv", Some(d(2026, 11, 24)), today), Err(DateError::Future { .. })));
        assert!(matches!(resolve("202612_a.csv", None, today), Err(DateError::Future { .. })));
        assert!(matches!(resolve("cov.csv", Some(d(2018, 12, 31)), today), Err(DateError::TooEarly { .. })));
        assert!(matches!(resolve("201812_a.csv", None, today), Err(DateError::TooEarly { .. })));
        let msg = resolve("cov.csv", None, today).map_err(|e| e.to_string()).err().unwrap_or_default();
        assert!(msg.contains("cov.csv") && msg.contains("--as-of"), "{msg}");
    }
}
