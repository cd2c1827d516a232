//! The running month's point of every target, recorded after a single
//! write.

use chrono::{NaiveDate, Utc};
use funkplan_db::{Db, Error as DbError};
use funkplan_model::{ChangeKind, Metric};

use crate::metric::parse_metric;
use crate::row::col;
use crate::{Definition, Error, Result};

/// The targets a write refreshes the running month of: their metric
/// definitions, checked and laid out as the columns of
/// `upsert_running_month.sql`. Load with [`running_month`], record with
/// [`RunningMonth::record`].
#[derive(Debug, Clone, Default)]
pub struct RunningMonth {
    ids: Vec<String>,
    metrics: Vec<&'static str>,
    kinds: Vec<serde_json::Value>,
    after: Vec<Option<NaiveDate>>,
    techs: Vec<Option<&'static str>>,
}

impl RunningMonth {
    /// The statement [`RunningMonth::record`] runs (prepare it once per
    /// connection).
    ///
    /// Why one statement with a `CASE` per metric rather than a query per
    /// metric: after a single write it runs pipelined inside the figures'
    /// transaction, prepared once per connection; one round trip whatever
    /// the metrics.
    pub const SQL: &'static str = include_str!("../sql/upsert_running_month.sql");

    /// How many targets a refresh records.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no target is recorded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Add target `id`, checked, as one row of the statement's arrays.
    fn push(&mut self, id: String, def: Definition) {
        let (metric, kinds, after, tech) = match def {
            Definition::MeasuresCompleted { kinds, after } => {
                (Metric::MeasuresCompleted, serde_json::Value::from(Definition::kind_words(&kinds)), after, None)
            }
            Definition::Coverage { metric, technology } => (metric, serde_json::Value::Null, None, Some(technology.as_str())),
        };
        self.ids.push(id);
        self.metrics.push(metric.as_str());
        self.kinds.push(kinds);
        self.after.push(after);
        self.techs.push(tech);
    }

    /// Compute every target's value as of `today` from the data `c` sees
    /// and record it as the point of `today`'s month, in one statement
    /// (`stmt` = [`RunningMonth::SQL`] prepared on `c`). Returns the number
    /// of points written.
    ///
    /// Why one statement: after a single write the targets are part of what
    /// the client waits for; one round trip inside the figures' transaction
    /// (one commit for both) instead of a query and an upsert per target.
    ///
    /// # Errors
    /// A database error.
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
///
/// # Errors
/// A database error.
pub async fn running_month(c: &impl tokio_postgres::GenericClient, which: ChangeKind) -> Result<RunningMonth> {
    const WHAT: &str = "reading targets";
    let rows = c.query(include_str!("../sql/running_month_targets.sql"), &[]).await.map_err(DbError::pg(WHAT))?;
    let mut rm = RunningMonth::default();
    for r in &rows {
        let id: String = col(r, "id", WHAT)?;
        let metric: String = col(r, "metric", WHAT)?;
        let params: serde_json::Value = col(r, "metric_params", WHAT)?;
        let checked = match parse_metric(&id, &metric) {
            Ok(m) if which == ChangeKind::Sites && !m.is_coverage() => continue,
            Ok(m) => Definition::of(&id, m, &params),
            Err(e) => Err(e),
        };
        match checked {
            Ok(def) => rm.push(id, def),
            Err(e) => tracing::warn!(error = %e, "target left out of the running month's refresh"),
        }
    }
    Ok(rm)
}

/// Record every target's current value as the running month's point, in
/// one transaction of two statements. After a single write the coverage
/// engine does this inside its own results transaction instead
/// ([`RunningMonth::record`]).
///
/// # Errors
/// A database error.
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
