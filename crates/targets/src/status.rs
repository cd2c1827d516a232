//! Each target's verdict now: value, progress, forecast, met or not.

use chrono::{DateTime, NaiveDate, Utc};
use funkplan_db::Db;
use funkplan_model::Metric;
use serde::Serialize;

use crate::history::history_on;
use crate::metric::metric_value_on;
use crate::target::load_on;
use crate::{forecast, Comparator, Forecast, HistoryPoint, Result, Target};

/// A target with its value now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TargetStatus {
    /// The target's id.
    pub id: String,
    /// Human title.
    pub title: String,
    /// `count`, `percent` or `km2`.
    pub unit: String,
    /// The goal.
    pub target_value: f64,
    /// When the goal is due.
    pub deadline: NaiveDate,
    /// The metric's value now.
    pub current_value: f64,
    /// 0..=1: how far from the start to the goal.
    pub progress: f64,
    /// Whether the goal is met now.
    pub met: bool,
    /// When the figures behind the value were computed.
    pub as_of: DateTime<Utc>,
    /// Where the target comes from (document, date, phrase).
    pub source: String,
    /// How the value compares with the goal.
    pub comparator: Comparator,
    /// What the target measures.
    #[schema(value_type = String)]
    pub metric: Metric,
    /// Where the metric is heading (docs/http.md).
    pub forecast: Forecast,
    /// Whether the deadline lies in the past.
    pub deadline_passed: bool,
    /// For a passed deadline: whether the goal was met by then, judged by
    /// the history's month of the deadline (`None` before the deadline, and
    /// when the history starts after it).
    pub met_at_deadline: Option<bool>,
    /// The first month (its first day) whose value met the goal, from the
    /// history; `None` if never (or no history yet).
    pub met_on: Option<NaiveDate>,
    /// The first value of the history: the starting point of "bring down
    /// to" targets' progress.
    pub baseline: Option<f64>,
}

/// Progress 0..=1 towards the goal. For "more is better" targets it is
/// value / goal; for "bring down to" targets it needs the starting value
/// (`baseline`): (baseline − value) / (baseline − goal).
///
/// # Examples
/// ```
/// use funkplan_targets::{progress, Comparator};
/// assert_eq!(progress(Comparator::Ge, 50.0, 100.0, None), 0.5);
/// // Dead spots brought down from 40 km² to 10 km² of a goal of 0.
/// assert_eq!(progress(Comparator::Le, 10.0, 0.0, Some(40.0)), 0.75);
/// ```
#[must_use]
pub fn progress(cmp: Comparator, value: f64, goal: f64, baseline: Option<f64>) -> f64 {
    let p = if cmp.higher_is_better() {
        if goal <= 0.0 { 1.0 } else { value / goal }
    } else {
        match baseline {
            _ if value <= goal => 1.0,
            Some(b) if b > goal => (b - value) / (b - goal),
            _ => 0.0,
        }
    };
    p.clamp(0.0, 1.0)
}

/// Every target with its current value, history-based progress baseline,
/// forecast, and (for passed deadlines) whether and when it was met.
///
/// # Errors
/// A database error, or [`crate::Error::Definition`] for a broken target.
pub async fn status_all(db: &Db) -> Result<Vec<TargetStatus>> {
    let now = Utc::now();
    let today = now.date_naive();
    let mut out = Vec::new();
    // One connection and statements prepared once per connection for all
    // targets: a pool checkout and a parse round trip per statement were
    // most of an uncached answer (issue 19).
    let c = db.conn().await?;
    for t in load_on(&c).await? {
        let (v, as_of) = metric_value_on(&c, &t, now).await?;
        let hist = history_on(&c, &t.id).await?;
        out.push(judge(t, v, as_of, today, &hist));
    }
    Ok(out)
}

/// Every target as it stood on `date` (issue 16: "was it met at the
/// deadline?" asked of any day): the value is the history's point of
/// `date`'s month — as of that month's last day, the same rule the
/// deadline verdict uses (for coverage, the release in force then and the
/// sites on air by then) — and progress, forecast and the deadline verdicts
/// are computed from the history up to that month only, as they would have
/// been read then. `None` when the history starts after `date`'s month
/// (nothing is known of that day).
///
/// # Errors
/// A database error, or [`crate::Error::Definition`] for a broken target.
pub async fn status_at(db: &Db, date: NaiveDate) -> Result<Option<Vec<TargetStatus>>> {
    let month = crate::month_of(date);
    let as_of = month_end(month).and_hms_opt(23, 59, 59).unwrap_or_default().and_utc();
    let mut out = Vec::new();
    let c = db.conn().await?;
    for t in load_on(&c).await? {
        let mut hist = history_on(&c, &t.id).await?;
        hist.retain(|p| p.month <= month);
        let Some(v) = forecast::value_at(&hist, date) else {
            return Ok(None);
        };
        out.push(judge(t, v, as_of, date, &hist));
    }
    Ok(Some(out))
}

/// The last day of the month that starts on `month`.
fn month_end(month: NaiveDate) -> NaiveDate {
    month.checked_add_months(chrono::Months::new(1)).and_then(|d| d.pred_opt()).unwrap_or(month)
}

/// The verdict on `t` with value `v` (computed at `as_of`) seen on `today`
/// with the history `hist` known then.
fn judge(t: Target, v: f64, as_of: DateTime<Utc>, today: NaiveDate, hist: &[HistoryPoint]) -> TargetStatus {
    let baseline = hist.first().map(|p| p.value);
    let fc = forecast::forecast(t.comparator, t.target_value, t.deadline, v, today, hist);
    let deadline_passed = t.deadline < today;
    TargetStatus {
        progress: progress(t.comparator, v, t.target_value, baseline),
        met: t.comparator.met(v, t.target_value),
        // From the history's month of the deadline (see forecast); not
        // known when the history starts after it.
        met_at_deadline: if deadline_passed { fc.value_at_deadline.map(|v| t.comparator.met(v, t.target_value)) } else { None },
        met_on: forecast::met_on(t.comparator, t.target_value, hist),
        deadline_passed,
        baseline,
        forecast: fc,
        current_value: v,
        as_of,
        source: source_line(&t),
        id: t.id,
        title: t.title,
        unit: t.unit,
        target_value: t.target_value,
        deadline: t.deadline,
        comparator: t.comparator,
        metric: t.metric,
    }
}

/// "document, date: „quote“" — where a target comes from, in one line.
fn source_line(t: &Target) -> String {
    let mut s = t.source_document.clone();
    if let Some(d) = t.source_date {
        s.push_str(&format!(", {d}"));
    }
    if let Some(q) = &t.source_quote {
        s.push_str(&format!(": „{q}“"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_end_handles_short_months_and_december() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(month_end(d("2024-02-01")), d("2024-02-29"));
        assert_eq!(month_end(d("2023-02-01")), d("2023-02-28"));
        assert_eq!(month_end(d("2024-12-01")), d("2024-12-31"));
    }

    #[test]
    fn progress_counts_up_and_down() {
        assert!((progress(Comparator::Gt, 5150.0, 10300.0, None) - 0.5).abs() < 1e-12);
        assert_eq!(progress(Comparator::Ge, 9000.0, 7500.0, None), 1.0);
        assert_eq!(progress(Comparator::Le, 0.0, 0.0, Some(40.0)), 1.0);
        assert!((progress(Comparator::Le, 10.0, 0.0, Some(40.0)) - 0.75).abs() < 1e-12);
        assert_eq!(progress(Comparator::Le, 10.0, 0.0, None), 0.0);
    }
}
