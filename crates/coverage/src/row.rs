//! Reading result columns by name.
//!
//! Why not `Row::get(i)`: when a `.sql` file's column order drifts, `get`
//! panics; `try_get` by name turns a mismatch into a database error the
//! caller can report.

use funkplan_db::Error as DbError;
use tokio_postgres::types::FromSql;
use tokio_postgres::Row;

use crate::Result;

/// Column `name` of `row`, or a database error naming `what` was being read.
pub(crate) fn col<'a, T: FromSql<'a>>(row: &'a Row, name: &str, what: &'static str) -> Result<T> {
    row.try_get(name).map_err(|e| DbError::pg(what)(e).into())
}
