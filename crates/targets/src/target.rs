//! Targets as seeded: the `target` table read into [`Target`].

use chrono::NaiveDate;
use funkplan_db::{Db, Error as DbError};
use funkplan_model::Metric;
use serde::Serialize;

use crate::row::col;
use crate::{Error, Result};

/// How the current value compares with the goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Comparator {
    /// The value must exceed the goal.
    Gt,
    /// The value must reach the goal.
    Ge,
    /// The value must stay below the goal.
    Lt,
    /// The value must come down to the goal.
    Le,
}

impl Comparator {
    pub(crate) fn parse(s: &str) -> Option<Self> {
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
    /// Stable id (`5g-upgrades`).
    pub id: String,
    /// Human title.
    pub title: String,
    /// `count`, `percent` or `km2`; every value of the target is in this unit.
    pub unit: String,
    /// How the value compares with the goal.
    pub comparator: Comparator,
    /// The goal.
    pub target_value: f64,
    /// When the goal is due.
    pub deadline: NaiveDate,
    /// What the target measures.
    #[schema(value_type = String)]
    pub metric: Metric,
    /// The metric's parameters as stored; checked by
    /// [`Definition::of`](crate::Definition::of) when evaluated, so that one
    /// broken target does not hide the others from a listing.
    #[schema(value_type = Object)]
    pub metric_params: serde_json::Value,
    /// The document the target comes from.
    pub source_document: String,
    /// The document's date.
    pub source_date: Option<NaiveDate>,
    /// The phrase of the document the target renders.
    pub source_quote: Option<String>,
    /// A remark.
    pub note: Option<String>,
}

/// All targets in their seeded order.
///
/// # Errors
/// A database error, or [`Error::Definition`] for an unknown comparator or
/// metric.
pub async fn load(db: &Db) -> Result<Vec<Target>> {
    load_on(&db.conn().await?).await
}

/// [`load`] on a connection the caller holds, its statement prepared once
/// per connection.
pub(crate) async fn load_on(c: &funkplan_db::Conn) -> Result<Vec<Target>> {
    const WHAT: &str = "reading targets";
    let stmt = c.prepare_cached(include_str!("../sql/targets.sql")).await.map_err(DbError::pg(WHAT))?;
    let rows = c.query(&stmt, &[]).await.map_err(DbError::pg(WHAT))?;
    rows.iter()
        .map(|r| {
            let id: String = col(r, "id", WHAT)?;
            let comparator: String = col(r, "comparator", WHAT)?;
            let comparator = Comparator::parse(&comparator)
                .ok_or_else(|| Error::Definition { id: id.clone(), reason: format!("unknown comparator {comparator}") })?;
            let metric: String = col(r, "metric", WHAT)?;
            let metric = crate::metric::parse_metric(&id, &metric)?;
            Ok(Target {
                title: col(r, "title", WHAT)?,
                unit: col(r, "unit", WHAT)?,
                comparator,
                target_value: col(r, "target_value", WHAT)?,
                deadline: col(r, "deadline", WHAT)?,
                metric,
                metric_params: col(r, "metric_params", WHAT)?,
                source_document: col(r, "source_document", WHAT)?,
                source_date: col(r, "source_date", WHAT)?,
                source_quote: col(r, "source_quote", WHAT)?,
                note: col(r, "note", WHAT)?,
                id,
            })
        })
        .collect()
}
