//! The audit log: one row per committed change, written in the change's
//! own transaction (so there is no change without its row), and read
//! page by page.

use funkplan_db::Error as DbError;
use serde_json::Value;
use tokio_postgres::Statement;

use super::col;
use crate::auth::Caller;
use crate::ApiResult;

pub(crate) const INSERT: &str = include_str!("../../sql/audit_insert.sql");
const PAGE: &str = include_str!("../../sql/audit_page.sql");

/// One audit row: who did what to which object, and the object before
/// (none for a creation) and after.
pub(crate) struct Entry<'a> {
    pub caller: &'a Caller,
    pub action: &'static str,
    pub entity: &'static str,
    pub id: &'a str,
    pub before: Option<&'a Value>,
    pub after: &'a Value,
}

/// Write `entry` with the prepared [`INSERT`] in the write's transaction.
pub(crate) async fn record(tx: &tokio_postgres::Transaction<'_>, insert: &Statement, entry: Entry<'_>) -> ApiResult<()> {
    let Entry { caller, action, entity, id, before, after } = entry;
    tx.execute(insert, &[&caller.actor(), &action, &entity, &id, &before, &after])
        .await
        .map_err(DbError::pg("writing the audit log"))?;
    Ok(())
}

/// A page of the log, newest first: the number of matching entries and
/// the entries as a JSON array (text, passed through unparsed).
pub(crate) async fn page(
    db: &funkplan_db::Db,
    entity: Option<&str>,
    entity_id: Option<&str>,
    limit: i64,
    offset: i64,
) -> ApiResult<(i64, String)> {
    let c = db.conn().await?;
    let stmt = c.prepare_cached(PAGE).await.map_err(DbError::pg("preparing the audit query"))?;
    let row = c
        .query_one(&stmt, &[&entity, &entity_id, &limit, &offset])
        .await
        .map_err(DbError::pg("reading the audit log"))?;
    Ok((col(&row, "total", "reading the audit log")?, col(&row, "items", "reading the audit log")?))
}
