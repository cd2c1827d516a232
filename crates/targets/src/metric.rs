//! Each metric's parameters and arithmetic, in one place.
//!
//! A target names a [`Metric`] and gives it parameters (`metric_params`,
//! JSON). [`Definition::of`] checks both once; everything that evaluates a
//! metric — its value now ([`metric_value`]), the engine's replay
//! ([`CoveragePoint::metric`]) and the running month
//! ([`crate::RunningMonth`]) — takes the checked [`Definition`].
//!
//! Adding a metric: a variant of [`Metric`] (in `funkplan-model`), its
//! parameters in [`Definition::of`], its column in [`coverage_column`] (or
//! its own query in [`metric_value`]), and its `WHEN` in
//! `sql/upsert_running_month.sql` (a test checks every metric has one).
//! The shared arithmetic is in `migrations/V32__target_metrics.sql`.

use chrono::{DateTime, NaiveDate, Utc};
use funkplan_db::{Db, Error as DbError};
use funkplan_model::{MeasureKind, Metric, Technology};

use crate::row::col;
use crate::{CoveragePoint, Error, Result, Target};

/// A target's metric with its parameters, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Definition {
    /// [`Metric::MeasuresCompleted`]: completed measures of `kinds`,
    /// completed after `after` (the strategy's adoption) if given.
    MeasuresCompleted {
        /// The measure kinds counted (never empty).
        kinds: Vec<MeasureKind>,
        /// Only measures completed after this day count.
        after: Option<NaiveDate>,
    },
    /// A coverage metric ([`Metric::is_coverage`]) of one technology.
    Coverage {
        /// Which coverage metric.
        metric: Metric,
        /// The technology it is about.
        technology: Technology,
    },
}

/// `metric` as a [`Metric`], or the definition error of target `id`.
pub(crate) fn parse_metric(id: &str, metric: &str) -> Result<Metric> {
    metric.parse().map_err(|_| Error::Definition { id: id.to_owned(), reason: format!("unknown metric {metric}") })
}

impl Definition {
    /// Check the parameters of target `id`'s `metric`.
    ///
    /// # Errors
    /// [`Error::Definition`] when a parameter is missing or malformed: no
    /// `kinds` (or an empty list, or a kind that is no measure kind), a
    /// `completed_after` that is no date, no or an unknown `technology`.
    pub fn of(id: &str, metric: Metric, params: &serde_json::Value) -> Result<Self> {
        let bad = |reason: String| Error::Definition { id: id.to_owned(), reason };
        match metric {
            Metric::MeasuresCompleted => {
                let kinds: Vec<MeasureKind> = params
                    .get("kinds")
                    .and_then(|v| v.as_array())
                    .map(|a| {
                        a.iter()
                            .map(|k| {
                                k.as_str()
                                    .and_then(|s| s.parse().ok())
                                    .ok_or_else(|| bad(format!("metric_params.kinds: {k} is not a measure kind")))
                            })
                            .collect::<Result<_>>()
                    })
                    .transpose()?
                    .unwrap_or_default();
                if kinds.is_empty() {
                    return Err(bad("metric_params.kinds is empty".into()));
                }
                let after = match params.get("completed_after").and_then(|v| v.as_str()) {
                    None => None,
                    Some(s) => {
                        Some(s.parse().map_err(|_| bad(format!("metric_params.completed_after {s:?} is not a date")))?)
                    }
                };
                Ok(Self::MeasuresCompleted { kinds, after })
            }
            Metric::HouseholdShare | Metric::AreaShare | Metric::DeadSpotAreaKm2 => {
                let tech = params
                    .get("technology")
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| bad("metric_params.technology missing".into()))?;
                let technology =
                    tech.parse().map_err(|_| bad(format!("metric_params.technology {tech:?} is not a technology")))?;
                Ok(Self::Coverage { metric, technology })
            }
        }
    }

    /// The definition of target `t`.
    ///
    /// # Errors
    /// As [`Definition::of`].
    pub fn of_target(t: &Target) -> Result<Self> {
        Self::of(&t.id, t.metric, &t.metric_params)
    }

    /// The measure kinds as the SQL functions take them (`text[]`).
    pub(crate) fn kind_words(kinds: &[MeasureKind]) -> Vec<&'static str> {
        kinds.iter().map(|k| k.as_str()).collect()
    }
}

/// The column of `target_coverage_metrics` (`sql/metric_coverage.sql`)
/// that holds coverage metric `m`; `None` for a count.
#[must_use]
pub fn coverage_column(m: Metric) -> Option<&'static str> {
    match m {
        Metric::MeasuresCompleted => None,
        Metric::HouseholdShare => Some("household_share"),
        Metric::AreaShare => Some("area_share"),
        Metric::DeadSpotAreaKm2 => Some("dead_km2"),
    }
}

/// The value of a target's metric as of `at`, with the time the underlying
/// figures were computed (coverage metrics) or `at` (counts).
///
/// # Errors
/// A database error, or [`Error::Definition`] for broken parameters.
pub async fn metric_value(db: &Db, t: &Target, at: DateTime<Utc>) -> Result<(f64, DateTime<Utc>)> {
    metric_value_on(&db.conn().await?, t, at).await
}

/// [`metric_value`] on a connection the caller holds, its statement
/// prepared once per connection: `/api/v1/targets` asks it of every target
/// on one connection (issue 19: a read that misses the cache paid a pool
/// checkout and a parse round trip per statement).
pub(crate) async fn metric_value_on(c: &funkplan_db::Conn, t: &Target, at: DateTime<Utc>) -> Result<(f64, DateTime<Utc>)> {
    let def = Definition::of_target(t)?;
    match def {
        Definition::MeasuresCompleted { kinds, after } => {
            const WHAT: &str = "counting completed measures";
            let kinds = Definition::kind_words(&kinds);
            let stmt = c.prepare_cached(include_str!("../sql/metric_measures_completed.sql")).await.map_err(DbError::pg(WHAT))?;
            let row = c.query_one(&stmt, &[&kinds, &after, &at.date_naive()]).await.map_err(DbError::pg(WHAT))?;
            Ok((col(&row, "value", WHAT)?, at))
        }
        Definition::Coverage { metric, technology } => {
            const WHAT: &str = "summing coverage figures";
            let stmt = c.prepare_cached(include_str!("../sql/metric_coverage.sql")).await.map_err(DbError::pg(WHAT))?;
            let row = c.query_one(&stmt, &[&technology.as_str()]).await.map_err(DbError::pg(WHAT))?;
            let column = coverage_column(metric).ok_or_else(|| Error::Definition {
                id: t.id.clone(),
                reason: format!("metric {metric} is not a coverage metric"),
            })?;
            let computed: Option<DateTime<Utc>> = col(&row, "computed_at", WHAT)?;
            Ok((col(&row, column, WHAT)?, computed.unwrap_or(at)))
        }
    }
}

impl CoveragePoint {
    /// The value of a coverage metric at this point, in the target's unit
    /// (`None` for a count), with the arithmetic of
    /// `target_coverage_metrics` (migrations/V32__target_metrics.sql).
    ///
    /// # Examples
    /// ```
    /// use funkplan_model::{Metric, Technology};
    /// use funkplan_targets::CoveragePoint;
    /// let p = CoveragePoint {
    ///     month: "2024-01-01".parse().unwrap(),
    ///     technology: Technology::Nr,
    ///     households: 200.0,
    ///     households_covered: 50.0,
    ///     cells: 400,
    ///     cells_covered: 300,
    /// };
    /// assert_eq!(p.metric(Metric::HouseholdShare), Some(25.0));
    /// assert_eq!(p.metric(Metric::AreaShare), Some(75.0));
    /// assert_eq!(p.metric(Metric::DeadSpotAreaKm2), Some(1.0));
    /// assert_eq!(p.metric(Metric::MeasuresCompleted), None);
    /// ```
    #[must_use]
    pub fn metric(&self, metric: Metric) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)]
        let (cells, cov) = (self.cells as f64, self.cells_covered as f64);
        match metric {
            Metric::MeasuresCompleted => None,
            Metric::HouseholdShare => {
                Some(if self.households > 0.0 { 100.0 * self.households_covered / self.households } else { 0.0 })
            }
            Metric::AreaShare => Some(if cells > 0.0 { 100.0 * cov / cells } else { 0.0 }),
            Metric::DeadSpotAreaKm2 => Some((cells - cov) * 0.01),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parameters_are_checked_once() {
        let d = Definition::of("t", Metric::MeasuresCompleted, &json!({"kinds": ["5g_upgrade"], "completed_after": "2021-11-16"}));
        assert_eq!(
            d.unwrap(),
            Definition::MeasuresCompleted { kinds: vec![MeasureKind::FiveGUpgrade], after: "2021-11-16".parse().ok() }
        );
        for (m, p, why) in [
            (Metric::MeasuresCompleted, json!({"kinds": []}), "metric_params.kinds is empty"),
            (Metric::MeasuresCompleted, json!({}), "metric_params.kinds is empty"),
            (Metric::MeasuresCompleted, json!({"kinds": ["x"]}), "is not a measure kind"),
            (Metric::MeasuresCompleted, json!({"kinds": ["lte_upgrade"], "completed_after": "soon"}), "is not a date"),
            (Metric::AreaShare, json!({}), "metric_params.technology missing"),
            (Metric::AreaShare, json!({"technology": "umts"}), "is not a technology"),
        ] {
            let e = Definition::of("t", m, &p).unwrap_err().to_string();
            assert!(e.starts_with("target t: ") && e.contains(why), "{e}");
        }
    }

    #[test]
    fn every_coverage_metric_has_a_column_and_every_metric_a_running_month_case() {
        let sql = crate::RunningMonth::SQL;
        for &m in Metric::ALL {
            assert_eq!(coverage_column(m).is_some(), m.is_coverage(), "{m}");
            assert!(sql.contains(&format!("WHEN '{m}' THEN")), "upsert_running_month.sql has no case for {m}");
        }
    }
}
