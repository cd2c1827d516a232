//! Target tracking (DESIGN §1, §7): every target in the `target` table names
//! a metric the engine knows; this crate evaluates it against the data.
//!
//! Targets are data, so a new target is a new seed row with a known metric.
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

pub mod forecast;

use funkplan_model::ChangeKind;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use funkplan_db::{Db, Error as DbError};
use serde::Serialize;

pub use forecast::{Forecast, HistoryPoint};

/// Errors of target evaluation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("target {id}: {reason}")]
    Definition { id: String, reason: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How the current value compares with the goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Comparator {
    Gt,
    Ge,
    Lt,
    Le,
}

impl Comparator {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            "lt" => Self::Lt,
            "le" => Self::Le,
            _ => return None,
        })
    }

    /// Whether `value` meets a goal of `goal` under this comparator.
    #[must_use]
    pub fn met(self, value: f64, goal: f64) -> bool {
        match self {
            Self::Gt => value > goal,
            Self::Ge => value >= goal,
            Self::Lt => value < goal,
            Self::Le => value <= goal,
        }
    }

    /// Whether larger values are better (count up to a goal) or smaller ones
    /// (bring dead spots down to zero).
    #[must_use]
    pub fn higher_is_better(self) -> bool {
        matches!(self, Self::Gt | Self::Ge)
    }
}

/// A target as seeded.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Target {
    pub id: String,
    pub title: String,
    /// `count`, `percent` or `km2`; every value of the target is in this unit.
    pub unit: String,
    pub comparator: Comparator,
    pub target_value: f64,
    pub deadline: NaiveDate,
    pub metric: String,
    #[schema(value_type = Object)]
    pub metric_params: serde_json::Value,
    pub source_document: String,
    pub source_date: Option<NaiveDate>,
    pub source_quote: Option<String>,
    pub note: Option<String>,
}

/// A target with its value now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TargetStatus {
    pub id: String,
    pub title: String,
    pub unit: String,
    pub target_value: f64,
    pub deadline: NaiveDate,
    pub current_value: f64,
    /// 0..=1: how far from the start to the goal.
    pub progress: f64,
    pub met: bool,
    pub as_of: DateTime<Utc>,
    /// Where the target comes from (document, date, phrase).
    pub source: String,
    pub comparator: Comparator,
    pub metric: String,
    /// Where the metric is heading (DESIGN §7).
    pub forecast: Forecast,
    /// Whether the deadline lies in the past.
    pub deadline_passed: bool,
    /// For a passed deadline: whether the goal was met by then.
    pub met_at_deadline: Option<bool>,
    /// The first month (its first day) whose value met the goal, from the
    /// history; `None` if never (or no history yet).
    pub met_on: Option<NaiveDate>,
    /// The first value of the history: the starting point of "bring down
    /// to" targets' progress.
    pub baseline: Option<f64>,
}

/// All targets in their seeded order.
pub async fn load(db: &Db) -> Result<Vec<Target>> {
    let c = db.conn().await?;
    let rows = c
        .query(include_str!("../sql/targets.sql"), &[])
        .await
        .map_err(DbError::pg("reading targets"))?;
    rows.into_iter()
        .map(|r| {
            let id: String = r.get(0);
            let comparator: String = r.get(3);
            let comparator = Comparator::parse(&comparator)
                .ok_or_else(|| Error::Definition { id: id.clone(), reason: format!("unknown comparator {comparator}") })?;
            Ok(Target {
                id,
                title: r.get(1),
                unit: r.get(2),
                comparator,
                target_value: r.get(4),
                deadline: r.get(5),
                metric: r.get(6),
                metric_params: r.get(7),
                source_document: r.get(8),
                source_date: r.get(9),
                source_quote: r.get(10),
                note: r.get(11),
            })
        })
        .collect()
}

/// The value of a target's metric as of `at`, with the time the underlying
/// figures were computed (coverage metrics) or `at` (counts).
pub async fn metric_value(db: &Db, t: &Target, at: DateTime<Utc>) -> Result<(f64, DateTime<Utc>)> {
    let c = db.conn().await?;
    let param_str = |k: &str| t.metric_params.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    match t.metric.as_str() {
        "measures_completed" => {
            let (kinds, after) = measure_params(t)?;
            let row = c
                .query_one(include_str!("../sql/metric_measures_completed.sql"), &[&kinds, &after, &at.date_naive()])
                .await
                .map_err(DbError::pg("counting completed measures"))?;
            Ok((row.get(0), at))
        }
        "household_share" | "area_share" | "dead_spot_area_km2" => {
            let tech = param_str("technology")
                .ok_or_else(|| Error::Definition { id: t.id.clone(), reason: "metric_params.technology missing".into() })?;
            let row = c
                .query_one(include_str!("../sql/metric_coverage.sql"), &[&tech])
                .await
                .map_err(DbError::pg("summing coverage figures"))?;
            let computed: Option<DateTime<Utc>> = row.get(3);
            let v: f64 = match t.metric.as_str() {
                "household_share" => row.get(0),
                "area_share" => row.get(1),
                _ => row.get(2),
            };
            Ok((v, computed.unwrap_or(at)))
        }
        other => Err(Error::Definition { id: t.id.clone(), reason: format!("unknown metric {other}") }),
    }
}

/// Progress 0..=1 towards the goal. For "more is better" targets it is
/// value / goal; for "bring down to" targets it needs the starting value
/// (`baseline`): (baseline − value) / (baseline − goal).
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

/// The kinds and the optional `completed_after` date of a
/// `measures_completed` target.
fn measure_params(t: &Target) -> Result<(Vec<String>, Option<NaiveDate>)> {
    let kinds: Vec<String> = t
        .metric_params
        .get("kinds")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|k| k.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    if kinds.is_empty() {
        return Err(Error::Definition { id: t.id.clone(), reason: "metric_params.kinds is empty".into() });
    }
    let after = match t.metric_params.get("completed_after").and_then(|v| v.as_str()) {
        None => None,
        Some(s) => Some(s.parse().map_err(|_| Error::Definition {
            id: t.id.clone(),
            reason: format!("metric_params.completed_after {s:?} is not a date"),
        })?),
    };
    Ok((kinds, after))
}

/// Every target with its current value, history-based progress baseline,
/// forecast, and (for passed deadlines) whether and when it was met.
pub async fn status_all(db: &Db) -> Result<Vec<TargetStatus>> {
    let now = Utc::now();
    let today = now.date_naive();
    let mut out = Vec::new();
    for t in load(db).await? {
        let (v, as_of) = metric_value(db, &t, now).await?;
        let hist = history(db, &t.id).await?.unwrap_or_default();
        let baseline = hist.first().map(|p| p.value);
        let fc = forecast::forecast(t.comparator, t.target_value, t.deadline, v, today, &hist);
        let deadline_passed = t.deadline < today;
        out.push(TargetStatus {
            progress: progress(t.comparator, v, t.target_value, baseline),
            met: t.comparator.met(v, t.target_value),
            met_at_deadline: deadline_passed.then_some(fc.on_track),
            met_on: forecast::met_on(t.comparator, t.target_value, &hist),
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
        });
    }
    Ok(out)
}

/// The monthly history of a target (`None` = no such target), oldest
/// first.
pub async fn history(db: &Db, id: &str) -> Result<Option<Vec<HistoryPoint>>> {
    let c = db.conn().await?;
    if c.query_opt(include_str!("../sql/target_exists.sql"), &[&id])
        .await
        .map_err(DbError::pg("looking up a target"))?
        .is_none()
    {
        return Ok(None);
    }
    let rows = c.query(include_str!("../sql/history.sql"), &[&id]).await.map_err(DbError::pg("reading target history"))?;
    Ok(Some(rows.iter().map(|r| HistoryPoint { month: r.get(0), value: r.get(1) }).collect()))
}

/// First day of `d`'s month.
#[must_use]
pub fn month_of(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

/// The months of the history (first days), from the month of the first
/// completed measure to the month of `today`; just this month when no
/// measure is completed yet.
pub async fn history_months(db: &Db, today: NaiveDate) -> Result<Vec<NaiveDate>> {
    let c = db.conn().await?;
    let start: Option<NaiveDate> = c
        .query_one(include_str!("../sql/history_start.sql"), &[])
        .await
        .map_err(DbError::pg("finding the first completed measure"))?
        .get(0);
    let end = month_of(today);
    let mut m = start.map_or(end, month_of).min(end);
    let mut out = Vec::new();
    while m <= end {
        out.push(m);
        m = match m.checked_add_months(chrono::Months::new(1)) {
            Some(n) => n,
            None => break,
        };
    }
    Ok(out)
}

/// State-wide coverage of one technology in one month, from the coverage
/// engine's replay (sites on air by the month's end).
#[derive(Debug, Clone, PartialEq)]
pub struct CoveragePoint {
    /// First day of the month.
    pub month: NaiveDate,
    /// `lte` or `5g`.
    pub technology: String,
    pub households: f64,
    pub households_covered: f64,
    pub cells: u64,
    pub cells_covered: u64,
}

impl CoveragePoint {
    /// The value of a coverage metric at this point, in the target's unit.
    #[must_use]
    pub fn metric(&self, metric: &str) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)]
        let (cells, cov) = (self.cells as f64, self.cells_covered as f64);
        match metric {
            "household_share" => Some(if self.households > 0.0 { 100.0 * self.households_covered / self.households } else { 0.0 }),
            "area_share" => Some(if cells > 0.0 { 100.0 * cov / cells } else { 0.0 }),
            "dead_spot_area_km2" => Some((cells - cov) * 0.01),
            _ => None,
        }
    }
}

/// Rebuild `target_history` for every target, in one transaction.
///
/// Count metrics replay measure completion dates month by month. Coverage
/// metrics take `coverage` (the engine's replay); without it they keep
/// their history and record the current value for the running month.
/// Returns the number of points written.
pub async fn rebuild_history(db: &Db, coverage: Option<&[CoveragePoint]>) -> Result<usize> {
    let now = Utc::now();
    let today = now.date_naive();
    let targets = load(db).await?;
    let months = history_months(db, today).await?;
    let start = months.first().copied().unwrap_or_else(|| month_of(today));
    // Current values first (they use their own connections).
    let mut current = Vec::with_capacity(targets.len());
    for t in &targets {
        current.push(metric_value(db, t, now).await?.0);
    }
    let mut conn = db.conn().await?;
    let tx = conn.transaction().await.map_err(DbError::pg("starting the history transaction"))?;
    let mut written = 0;
    for (t, cur) in targets.iter().zip(current) {
        let (ms, vs, replace): (Vec<NaiveDate>, Vec<f64>, bool) = match t.metric.as_str() {
            "measures_completed" => {
                let (kinds, after) = measure_params(t)?;
                let rows = tx
                    .query(include_str!("../sql/history_measures_completed.sql"), &[&kinds, &after, &start, &today])
                    .await
                    .map_err(DbError::pg("replaying measure completions"))?;
                (rows.iter().map(|r| r.get(0)).collect(), rows.iter().map(|r| r.get(1)).collect(), true)
            }
            metric => {
                let tech = t.metric_params.get("technology").and_then(|v| v.as_str()).unwrap_or_default();
                match coverage {
                    Some(points) => {
                        let mut ms = Vec::new();
                        let mut vs = Vec::new();
                        for p in points.iter().filter(|p| p.technology == tech) {
                            if let Some(v) = p.metric(metric) {
                                ms.push(p.month);
                                vs.push(v);
                            }
                        }
                        (ms, vs, true)
                    }
                    None => (vec![month_of(today)], vec![cur], false),
                }
            }
        };
        if replace {
            tx.execute(include_str!("../sql/delete_history.sql"), &[&t.id])
                .await
                .map_err(DbError::pg("clearing target history"))?;
        }
        tx.execute(include_str!("../sql/upsert_history.sql"), &[&t.id, &ms, &vs])
            .await
            .map_err(DbError::pg("writing target history"))?;
        written += ms.len();
    }
    tx.commit().await.map_err(DbError::pg("committing target history"))?;
    Ok(written)
}

/// The targets a write refreshes the running month of: their metric
/// definitions, checked and laid out as the columns of
/// `upsert_running_month.sql`. Load with [`running_month`], record with
/// [`RunningMonth::record`].
#[derive(Debug, Clone, Default)]
pub struct RunningMonth {
    ids: Vec<String>,
    metrics: Vec<String>,
    kinds: Vec<serde_json::Value>,
    after: Vec<Option<NaiveDate>>,
    techs: Vec<Option<String>>,
}

impl RunningMonth {
    /// The statement [`RunningMonth::record`] runs (prepare it once per
    /// connection).
    pub const SQL: &'static str = include_str!("../sql/upsert_running_month.sql");

    /// How many targets a refresh records.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Compute every target's value as of `today` from the data `c` sees
    /// and record it as the point of `today`'s month, in one statement
    /// (`stmt` = [`RunningMonth::SQL`] prepared on `c`). Returns the number
    /// of points written.
    ///
    /// Why one statement: after a single write the targets are part of what
    /// the client waits for; one round trip inside the figures' transaction
    /// (one commit for both) instead of a query and an upsert per target.
    pub async fn record(&self, c: &impl tokio_postgres::GenericClient, stmt: &tokio_postgres::Statement, today: NaiveDate) -> Result<u64> {
        c.execute(stmt, &[&today, &self.ids, &self.metrics, &self.kinds, &self.after, &self.techs])
            .await
            .map_err(|e| Error::Db(DbError::pg("updating the running month of target history")(e)))
    }
}

/// The targets' definitions for [`RunningMonth::record`]. A target with a
/// broken definition (unknown metric, no kinds, a `completed_after` that is
/// no date, no technology) is left out with a warning: the write that
/// triggered the refresh must not fail over it; `funkplan targets` and the
/// API report such a target as an error.
///
/// `which`: the kind of change being reflected. After a site write
/// ([`ChangeKind::Sites`]) only the coverage metrics are refreshed: it
/// changes no count of completed measures, and counting them (some 20,000
/// index entries at NRW scale) is the dearest part of a refresh.
pub async fn running_month(c: &impl tokio_postgres::GenericClient, which: ChangeKind) -> Result<RunningMonth> {
    let rows = c
        .query(include_str!("../sql/running_month_targets.sql"), &[])
        .await
        .map_err(DbError::pg("reading targets"))?;
    Ok(running_month_of(
        rows.iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .filter(|(_, metric, _): &(String, String, serde_json::Value)| which == ChangeKind::Measures || metric != "measures_completed"),
    ))
}

fn running_month_of(defs: impl Iterator<Item = (String, String, serde_json::Value)>) -> RunningMonth {
    let mut rm = RunningMonth::default();
    for (id, metric, metric_params) in defs {
        let t = Target {
            id,
            title: String::new(),
            unit: String::new(),
            comparator: Comparator::Ge,
            target_value: 0.0,
            deadline: NaiveDate::MIN,
            metric,
            metric_params,
            source_document: String::new(),
            source_date: None,
            source_quote: None,
            note: None,
        };
        let checked = match t.metric.as_str() {
            "measures_completed" => measure_params(&t).map(|(kinds, after)| (serde_json::Value::from(kinds), after, None)),
            "household_share" | "area_share" | "dead_spot_area_km2" => {
                match t.metric_params.get("technology").and_then(|v| v.as_str()) {
                    Some(tech) => Ok((serde_json::Value::Null, None, Some(tech.to_owned()))),
                    None => Err(Error::Definition { id: t.id.clone(), reason: "metric_params.technology missing".into() }),
                }
            }
            other => Err(Error::Definition { id: t.id.clone(), reason: format!("unknown metric {other}") }),
        };
        match checked {
            Ok((kinds, after, tech)) => {
                rm.ids.push(t.id);
                rm.metrics.push(t.metric);
                rm.kinds.push(kinds);
                rm.after.push(after);
                rm.techs.push(tech);
            }
            Err(e) => tracing::warn!(error = %e, "target left out of the running month's refresh"),
        }
    }
    rm
}

/// Record every target's current value as the running month's point, in
/// one transaction of two statements. After a single write the coverage
/// engine does this inside its own results transaction instead
/// ([`RunningMonth::record`]).
pub async fn refresh_current_month(db: &Db) -> Result<()> {
    let today = Utc::now().date_naive();
    let mut conn = db.conn().await?;
    let tx = conn.transaction().await.map_err(DbError::pg("starting the target refresh"))?;
    let rm = running_month(&*tx, ChangeKind::Measures).await?;
    let stmt = tx.prepare(RunningMonth::SQL).await.map_err(DbError::pg("preparing the target refresh"))?;
    rm.record(&*tx, &stmt, today).await?;
    tx.commit().await.map_err(DbError::pg("committing the running month of target history"))?;
    Ok(())
}

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
    fn progress_counts_up_and_down() {
        assert!((progress(Comparator::Gt, 5150.0, 10300.0, None) - 0.5).abs() < 1e-12);
        assert_eq!(progress(Comparator::Ge, 9000.0, 7500.0, None), 1.0);
        assert_eq!(progress(Comparator::Le, 0.0, 0.0, Some(40.0)), 1.0);
        assert!((progress(Comparator::Le, 10.0, 0.0, Some(40.0)) - 0.75).abs() < 1e-12);
        assert_eq!(progress(Comparator::Le, 10.0, 0.0, None), 0.0);
    }
}
