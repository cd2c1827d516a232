//! Monthly history of each target (`target_history`): reading it, and
//! rebuilding it on `funkplan recompute`.

use chrono::{Datelike, NaiveDate, Utc};
use funkplan_db::{Db, Error as DbError};
use funkplan_model::Technology;

use crate::row::col;
use crate::{load, metric_value, Definition, HistoryPoint, Result};

/// The monthly history of a target (`None` = no such target), oldest
/// first.
///
/// # Errors
/// A database error.
pub async fn history(db: &Db, id: &str) -> Result<Option<Vec<HistoryPoint>>> {
    let c = db.conn().await?;
    let exists = c.prepare_cached(include_str!("../sql/target_exists.sql")).await.map_err(DbError::pg("looking up a target"))?;
    if c.query_opt(&exists, &[&id]).await.map_err(DbError::pg("looking up a target"))?.is_none() {
        return Ok(None);
    }
    history_on(&c, id).await.map(Some)
}

/// The history of target `id` (known to exist) on a connection the caller
/// holds, its statement prepared once per connection.
pub(crate) async fn history_on(c: &funkplan_db::Conn, id: &str) -> Result<Vec<HistoryPoint>> {
    const WHAT: &str = "reading target history";
    let stmt = c.prepare_cached(include_str!("../sql/history.sql")).await.map_err(DbError::pg(WHAT))?;
    let rows = c.query(&stmt, &[&id]).await.map_err(DbError::pg(WHAT))?;
    rows.iter()
        .map(|r| Ok(HistoryPoint { month: col(r, "month", WHAT)?, value: col(r, "value", WHAT)? }))
        .collect::<Result<_>>()
}

/// First day of `d`'s month.
///
/// # Examples
/// ```
/// use chrono::NaiveDate;
/// let d = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
/// assert_eq!(funkplan_targets::month_of(d), NaiveDate::from_ymd_opt(2024, 2, 1).unwrap());
/// ```
#[must_use]
pub fn month_of(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

/// The months of the history (first days), from the month of the first
/// completed measure to the month of `today`; just this month when no
/// measure is completed yet.
///
/// # Errors
/// A database error.
pub async fn history_months(db: &Db, today: NaiveDate) -> Result<Vec<NaiveDate>> {
    const WHAT: &str = "finding the first completed measure";
    let c = db.conn().await?;
    let row = c.query_one(include_str!("../sql/history_start.sql"), &[]).await.map_err(DbError::pg(WHAT))?;
    let start: Option<NaiveDate> = col(&row, "start", WHAT)?;
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
    /// The technology counted.
    pub technology: Technology,
    /// Households in the state.
    pub households: f64,
    /// Households covered by the technology.
    pub households_covered: f64,
    /// Grid cells in the state.
    pub cells: u64,
    /// Grid cells covered by the technology.
    pub cells_covered: u64,
}

/// Rebuild `target_history` for every target, in one transaction.
///
/// Count metrics replay measure completion dates month by month. Coverage
/// metrics take `coverage` (the engine's replay); without it they keep
/// their history and record the current value for the running month.
/// Returns the number of points written.
///
/// # Errors
/// A database error, or [`crate::Error::Definition`] for a broken target.
pub async fn rebuild_history(db: &Db, coverage: Option<&[CoveragePoint]>) -> Result<usize> {
    const WHAT: &str = "replaying measure completions";
    let now = Utc::now();
    let today = now.date_naive();
    let targets = load(db).await?;
    let months = history_months(db, today).await?;
    let start = months.first().copied().unwrap_or_else(|| month_of(today));
    // Current values first (they use their own connections); this also
    // checks every definition before anything is written.
    let mut current = Vec::with_capacity(targets.len());
    for t in &targets {
        current.push(metric_value(db, t, now).await?.0);
    }
    let mut conn = db.conn().await?;
    let tx = conn.transaction().await.map_err(DbError::pg("starting the history transaction"))?;
    let mut written = 0;
    for (t, cur) in targets.iter().zip(current) {
        let (ms, vs, replace): (Vec<NaiveDate>, Vec<f64>, bool) = match Definition::of_target(t)? {
            Definition::MeasuresCompleted { kinds, after } => {
                let kinds = Definition::kind_words(&kinds);
                let rows = tx
                    .query(include_str!("../sql/history_measures_completed.sql"), &[&kinds, &after, &start, &today])
                    .await
                    .map_err(DbError::pg(WHAT))?;
                let ms = rows.iter().map(|r| col(r, "month", WHAT)).collect::<Result<_>>()?;
                let vs = rows.iter().map(|r| col(r, "value", WHAT)).collect::<Result<_>>()?;
                (ms, vs, true)
            }
            Definition::Coverage { metric, technology } => match coverage {
                Some(points) => {
                    let mut ms = Vec::new();
                    let mut vs = Vec::new();
                    for p in points.iter().filter(|p| p.technology == technology) {
                        if let Some(v) = p.metric(metric) {
                            ms.push(p.month);
                            vs.push(v);
                        }
                    }
                    (ms, vs, true)
                }
                None => (vec![month_of(today)], vec![cur], false),
            },
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
