//! The statements of a place's figures — a municipality's, a district's,
//! a Regierungsbezirk's. Each names the place's rows in its own file; the
//! figures computed from them (`sql/figures.sql`) are written once and put
//! in where the file says `--@include figures.sql`, so a municipality and
//! the areas it adds up to can never be figured in two different ways.

use std::sync::LazyLock;

const MARKER: &str = "--@include figures.sql\n";

fn with_figures(sql: &str) -> String {
    sql.replacen(MARKER, include_str!("../../sql/figures.sql"), 1)
}

/// `$1` = AGS; one row with the figures as JSON text, none for an unknown AGS.
pub(crate) static MUNICIPALITY: LazyLock<String> =
    LazyLock::new(|| with_figures(include_str!("../../sql/municipality_figures.sql")));

/// Every municipality's figures, AGS → the JSON text `GET
/// /api/v1/municipalities/{ags}` answers, for serving them from memory
/// ([`crate::reload`]): [`MUNICIPALITY`] itself, once per municipality,
/// pipelined on one connection in one read-only REPEATABLE READ
/// transaction, so the texts are the SQL path's byte for byte and all of
/// one moment.
pub(crate) async fn load_all(
    db: funkplan_db::Db,
) -> Result<std::collections::HashMap<String, String>, funkplan_db::Error> {
    use funkplan_db::Error as DbError;
    let what = "loading every municipality's figures";
    let mut c = db.conn().await?;
    let tx = c
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(DbError::pg(what))?;
    let stmt = tx
        .prepare_cached(&MUNICIPALITY)
        .await
        .map_err(DbError::pg(what))?;
    let keys: Vec<String> = tx
        .query("SELECT ags::text FROM municipality", &[])
        .await
        .map_err(DbError::pg(what))?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()
        .map_err(DbError::pg(what))?;
    let rows = futures_util::future::try_join_all(keys.iter().map(|k| {
        let (tx, stmt) = (&tx, &stmt);
        async move { tx.query_opt(stmt, &[k]).await }
    }))
    .await
    .map_err(DbError::pg(what))?;
    let mut out = std::collections::HashMap::with_capacity(keys.len());
    for (k, row) in keys.into_iter().zip(rows) {
        if let Some(row) = row {
            out.insert(
                k,
                row.try_get::<_, String>("figures")
                    .map_err(DbError::pg(what))?,
            );
        }
    }
    tx.commit().await.map_err(DbError::pg(what))?;
    Ok(out)
}

/// `$1` = AGS prefix, `$2` = `district` or `region`; one row with the
/// figures as JSON text, none when no municipality has the prefix.
pub(crate) static AREA: LazyLock<String> = LazyLock::new(|| with_figures(include_str!("../../sql/area_figures.sql")));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_figures_are_put_in() {
        for sql in [&*MUNICIPALITY, &*AREA] {
            assert!(!sql.contains(MARKER), "{sql}");
            assert!(sql.contains("), tech AS (") && sql.contains("), latest AS ("), "{sql}");
        }
    }
}
