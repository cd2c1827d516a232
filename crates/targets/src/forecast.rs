//! Forecast of a target from its monthly history: pure arithmetic.
//!
//! Method: ordinary least squares over the last 12 monthly points (fewer
//! if the history is shorter; at least 2), x in months. The slope is the
//! achieved rate per month; the value at the deadline is the current value
//! plus that rate times the months left. Targets whose deadline has passed
//! are judged on their value at the deadline instead: the history's point
//! of the deadline's month (for coverage, the release in force on that
//! month's last day and the sites on air by then), not today's value.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::Comparator;

/// How the forecast is made, for readers of the JSON.
pub const METHOD: &str = "least squares over the last 12 monthly points of the target's history; value at deadline = current value + fitted rate × months left";

/// Average month length in days (365.25 / 12).
pub const DAYS_PER_MONTH: f64 = 30.4375;

/// One month of a target's metric (`month` = first day of the month; the
/// value is as of the month's last day, or today for the running month).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HistoryPoint {
    /// First day of the month.
    pub month: NaiveDate,
    /// The metric's value, in the target's unit.
    pub value: f64,
}

/// Where a target is heading.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Forecast {
    /// Expected value at the deadline (for a passed deadline: the value it
    /// had then, from the history; `None` when the history starts after
    /// it). `None` when there are too few points for a rate.
    pub value_at_deadline: Option<f64>,
    /// Whether the goal is (expected to be) met by the deadline.
    pub on_track: bool,
    /// Change per month still needed to meet the goal by the deadline
    /// (0 when met; `None` once the deadline has passed).
    pub rate_needed_per_month: Option<f64>,
    /// Fitted change per month over the recent history.
    pub rate_actual_per_month: Option<f64>,
    /// When the goal would be reached at the achieved rate (`None` if it
    /// is met already or the rate does not lead there).
    pub expected_met_on: Option<NaiveDate>,
    /// Points used for the fit.
    pub points_used: usize,
    /// How the forecast is made ([`METHOD`]).
    pub method: &'static str,
}

/// Months as a number: year × 12 + month index.
#[must_use]
pub fn month_number(d: NaiveDate) -> f64 {
    f64::from(d.year()) * 12.0 + f64::from(d.month0())
}

/// Least-squares slope of `(x, y)`; `None` for fewer than two distinct x.
#[must_use]
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    #[allow(clippy::cast_precision_loss)]
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// The forecast of a target with goal `goal` under `cmp`, current value
/// `current` on `today`, deadline `deadline`, from its history.
#[must_use]
pub fn forecast(cmp: Comparator, goal: f64, deadline: NaiveDate, current: f64, today: NaiveDate, history: &[HistoryPoint]) -> Forecast {
    let recent: Vec<(f64, f64)> = history
        .iter()
        .rev()
        .take(12)
        .rev()
        .map(|p| (month_number(p.month), p.value))
        .collect();
    let rate = slope(&recent);
    let passed = deadline < today;
    let months_left = f64::from(i32::try_from((deadline - today).num_days()).unwrap_or(i32::MAX)) / DAYS_PER_MONTH;
    let met_now = cmp.met(current, goal);
    // A passed deadline is judged by the history's month of the deadline
    // (its value on that month's last day: the release in force then and
    // the sites on air by then), never by today's value: with no point at
    // or before the deadline, the value then is not known.
    let value_at_deadline = if passed {
        value_at(history, deadline)
    } else {
        rate.map(|r| current + r * months_left)
    };
    let on_track = if passed {
        value_at_deadline.is_some_and(|v| cmp.met(v, goal))
    } else {
        met_now || value_at_deadline.is_some_and(|v| cmp.met(v, goal))
    };
    let rate_needed = if passed {
        None
    } else if met_now {
        Some(0.0)
    } else if months_left > 0.0 {
        Some((goal - current) / months_left)
    } else {
        Some(goal - current)
    };
    let expected_met_on = match rate {
        Some(r) if !met_now && r != 0.0 && (goal - current) / r > 0.0 => {
            let months = (goal - current) / r;
            #[allow(clippy::cast_possible_truncation)]
            let days = (months * DAYS_PER_MONTH).ceil().min(1e6) as i64;
            today.checked_add_signed(chrono::Duration::days(days))
        }
        _ => None,
    };
    Forecast {
        value_at_deadline,
        on_track,
        rate_needed_per_month: rate_needed,
        rate_actual_per_month: rate,
        expected_met_on,
        points_used: recent.len(),
        method: METHOD,
    }
}

/// The value of the last point of a month at or before `d`.
#[must_use]
pub fn value_at(history: &[HistoryPoint], d: NaiveDate) -> Option<f64> {
    history.iter().rev().find(|p| p.month <= d).map(|p| p.value)
}

/// The first month whose value meets the goal.
#[must_use]
pub fn met_on(cmp: Comparator, goal: f64, history: &[HistoryPoint]) -> Option<NaiveDate> {
    history.iter().find(|p| cmp.met(p.value, goal)).map(|p| p.month)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn series(start: &str, values: &[f64]) -> Vec<HistoryPoint> {
        let mut m = d(start);
        values
            .iter()
            .map(|&v| {
                let p = HistoryPoint { month: m, value: v };
                m = m.checked_add_months(chrono::Months::new(1)).unwrap();
                p
            })
            .collect()
    }

    #[test]
    fn slope_of_a_line_is_exact() {
        let pts: Vec<(f64, f64)> = (0..12).map(|i| (f64::from(i), 3.0 * f64::from(i) + 7.0)).collect();
        assert_relative_eq!(slope(&pts).unwrap(), 3.0, epsilon = 1e-12);
        assert_eq!(slope(&pts[..1]), None);
    }

    #[test]
    fn uses_only_the_last_twelve_months() {
        // 24 months: flat at 0 for 12, then +100 a month for 12.
        let mut v = vec![0.0; 12];
        v.extend((1..=12).map(|i| 100.0 * f64::from(i)));
        let h = series("2023-01-01", &v);
        let f = forecast(Comparator::Ge, 5000.0, d("2025-12-31"), 1200.0, d("2024-12-31"), &h);
        assert_relative_eq!(f.rate_actual_per_month.unwrap(), 100.0, epsilon = 1e-9);
        assert_eq!(f.points_used, 12);
        // 12 months left × 100 → 2400 at the deadline: not on track.
        assert_relative_eq!(f.value_at_deadline.unwrap(), 1200.0 + 100.0 * 365.0 / DAYS_PER_MONTH, epsilon = 1e-6);
        assert!(!f.on_track);
        assert_relative_eq!(f.rate_needed_per_month.unwrap(), 3800.0 / (365.0 / DAYS_PER_MONTH), epsilon = 1e-9);
        // 38 more months at 100 a month.
        let when = f.expected_met_on.unwrap();
        assert!(when > d("2028-02-01") && when < d("2028-03-15"), "{when}");
    }

    #[test]
    fn on_track_when_rate_suffices_and_for_downward_targets() {
        let h = series("2024-01-01", &[40.0, 35.0, 30.0, 25.0]);
        let f = forecast(Comparator::Le, 0.0, d("2024-12-31"), 25.0, d("2024-04-15"), &h);
        assert_relative_eq!(f.rate_actual_per_month.unwrap(), -5.0, epsilon = 1e-9);
        assert!(f.on_track, "−5 km² a month for 8.5 months clears 25 km²");
        assert!(f.rate_needed_per_month.unwrap() < 0.0);
    }

    #[test]
    fn passed_deadline_is_judged_at_the_deadline() {
        let h = series("2022-10-01", &[80.0, 85.0, 89.0, 91.0, 93.0]);
        let f = forecast(Comparator::Gt, 90.0, d("2022-12-31"), 93.0, d("2023-02-10"), &h);
        assert_eq!(f.value_at_deadline, Some(89.0));
        assert!(!f.on_track);
        assert_eq!(f.rate_needed_per_month, None);
        assert_eq!(met_on(Comparator::Gt, 90.0, &h), Some(d("2023-01-01")));
        // A history that starts after the deadline does not know the value
        // then; today's value (met) is not taken for it.
        let late = series("2023-01-01", &[91.0, 93.0]);
        let f = forecast(Comparator::Gt, 90.0, d("2022-12-31"), 93.0, d("2023-02-10"), &late);
        assert_eq!(f.value_at_deadline, None);
        assert!(!f.on_track);
    }

    #[test]
    fn a_series_that_goes_down_is_judged_at_the_deadline() {
        // Releases may report less than before: met in November, not at
        // the December deadline, met again today.
        let h = series("2022-10-01", &[89.0, 91.0, 88.0, 92.0]);
        let f = forecast(Comparator::Gt, 90.0, d("2022-12-31"), 92.0, d("2023-01-20"), &h);
        assert_eq!(f.value_at_deadline, Some(88.0));
        assert!(!f.on_track);
    }
}
