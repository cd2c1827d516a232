//! Sites and measures as a store: each write is one transaction that locks
//! the row, applies the rules (id, position, dates, status lifecycle, role),
//! merges the fields, writes the audit row and commits. The HTTP handlers in
//! `routes::writes` only parse, call the store and answer; what a write
//! changed comes back as a [`Change`] for [`crate::AppState::reflect`].
//!
//! The SQL lives in `crates/api/sql/{site,measure,audit}_*.sql`, one place
//! per aggregate. Rows are read by column name ([`col`]), so a column order
//! that drifts in a `.sql` file is an error answer, not a panic.

pub(crate) mod audit;
pub(crate) mod measure;
pub(crate) mod plan;
pub(crate) mod rules;
pub(crate) mod site;

use axum::http::HeaderValue;
use funkplan_db::Error as DbError;
use funkplan_model::Change;
use serde_json::Value;
use tokio_postgres::types::FromSql;
use tokio_postgres::{Row, Statement};

use crate::{ApiError, ApiResult};

/// A committed write: the object's new version and JSON, and what changed
/// (`None` for a no-op update, which leaves the version as it was).
#[derive(Debug)]
pub(crate) struct Written {
    pub version: i64,
    pub body: Value,
    pub change: Option<Change>,
}

/// One object read for display: its version (the ETag) and JSON text.
#[derive(Debug)]
pub(crate) struct Versioned {
    pub version: i64,
    pub json: String,
}

/// The precondition of an update: the request's `If-Match`, checked
/// against the locked row's version inside the transaction.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IfMatch<'a>(pub Option<&'a HeaderValue>);

/// Column `name` of `row`, or an error answer naming what was being read
/// (a missing column or a wrong type is our fault: 500, logged).
pub(crate) fn col<'a, T: FromSql<'a>>(row: &'a Row, name: &str, what: &'static str) -> ApiResult<T> {
    row.try_get(name).map_err(|e| DbError::pg(what)(e).into())
}

/// The statements of a write, prepared all at once and once per pooled
/// connection (deadpool's statement cache): each then costs one round trip
/// in the transaction, not a Parse and an Execute. The write is waited for
/// by its client (its figures are computed before the answer), so round
/// trips count.
async fn prepared<const N: usize>(c: &funkplan_db::Conn, sqls: [&'static str; N]) -> ApiResult<[Statement; N]> {
    let stmts = futures_util::future::try_join_all(sqls.iter().map(|s| c.prepare_cached(s)))
        .await
        .map_err(DbError::pg("preparing a write"))?;
    stmts.try_into().map_err(|_| ApiError::Internal("prepared statements went missing".into()))
}

/// One object by id with its version; `None` when there is none.
async fn get_one(db: &funkplan_db::Db, sql: &'static str, id: &str) -> ApiResult<Option<Versioned>> {
    let c = db.conn().await?;
    let stmt = c.prepare_cached(sql).await.map_err(DbError::pg("preparing a read"))?;
    let row = c.query_opt(&stmt, &[&id]).await.map_err(DbError::pg("reading a resource"))?;
    row.map(|r| Ok(Versioned { version: col(&r, "version", "reading a resource")?, json: col(&r, "json", "reading a resource")? }))
        .transpose()
}

/// `Some(None)` for an explicit `null`, `None` for an absent field: PATCH
/// must tell "clear the date" from "leave it".
fn explicit<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// The error of inserting a `what` with `id`: a duplicate names the id in
/// the product's words (the only unique key of sites and measures is the
/// id); anything else through the one database mapping.
fn insert_error<'a>(what: &'static str, doing: &'static str, id: &'a str) -> impl FnOnce(tokio_postgres::Error) -> ApiError + 'a {
    move |e| {
        if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
            ApiError::Conflict(format!("a {what} with id {id:?} exists already"))
        } else {
            DbError::pg(doing)(e).into()
        }
    }
}
