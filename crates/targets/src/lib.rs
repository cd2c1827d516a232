//! Target tracking (DESIGN §1, §7): every target in the `target` table names
//! a metric the engine knows; this crate evaluates it against the data.
//!
//! Targets are data, so a new target is a new seed row with a known metric.

use chrono::{DateTime, NaiveDate, Utc};
use funkplan_db::{Db, Error as DbError};
use serde::Serialize;

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
            let kinds: Vec<String> = t
                .metric_params
                .get("kinds")
                .and_then(|v| v.as_array())
                .map(|a| a.iter().filter_map(|k| k.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            if kinds.is_empty() {
                return Err(Error::Definition { id: t.id.clone(), reason: "metric_params.kinds is empty".into() });
            }
            let after: Option<NaiveDate> = param_str("completed_after").and_then(|s| s.parse().ok());
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

/// Every target with its current value.
pub async fn status_all(db: &Db) -> Result<Vec<TargetStatus>> {
    let now = Utc::now();
    let mut out = Vec::new();
    for t in load(db).await? {
        let (v, as_of) = metric_value(db, &t, now).await?;
        out.push(TargetStatus {
            progress: progress(t.comparator, v, t.target_value, None),
            met: t.comparator.met(v, t.target_value),
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
