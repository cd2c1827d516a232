//! Schema migrations from `migrations/`, embedded in the binary.
//!
//! All pending migrations run in one transaction (refinery's "grouped"
//! mode), so a failing one leaves the schema exactly as it was. A
//! session-level advisory lock keeps two processes from migrating at once.

use crate::{pg_detail, Error, Result};

mod embedded {
    refinery::embed_migrations!("../../migrations");
}

/// Key of the advisory lock held while migrating ("funkplan" in ASCII).
const LOCK_KEY: i64 = 0x6675_6e6b_706c_616e;

/// What `run` applied.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Names of the migrations applied by this call (empty: already current).
    pub applied: Vec<String>,
}

/// Apply all pending migrations to the database at `url`.
pub async fn run(url: &str) -> Result<Report> {
    let (mut client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| Error::Connect { url: crate::redact(url), detail: pg_detail(&e) })?;
    let conn = tokio::spawn(conn);
    // A read-only database (a hot-standby replica, or
    // default_transaction_read_only) cannot record migrations. When nothing
    // is pending that is fine — serving reads from a replica is how the service
    // scales — otherwise say plainly why it cannot be migrated.
    if let Some(report) = read_only_check(&client).await? {
        drop(client);
        let _ = conn.await;
        return report;
    }
    client
        .execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY])
        .await
        .map_err(Error::pg("taking the migration lock"))?;
    let result = embedded::migrations::runner()
        .set_grouped(true)
        .set_abort_divergent(true)
        .run_async(&mut client)
        .await;
    let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY]).await;
    drop(client);
    let _ = conn.await;
    let report = result.map_err(|e| {
        let msg = e.to_string();
        if is_missing_extension(&msg) && msg.contains("postgis") {
            Error::PostgisMissing(msg)
        } else {
            Error::Migration(msg)
        }
    })?;
    let applied: Vec<String> = report.applied_migrations().iter().map(ToString::to_string).collect();
    for m in &applied {
        tracing::info!(migration = %m, "applied");
    }
    Ok(Report { applied })
}

/// `None` when the database is writable; for a read-only one the result of
/// the whole call: nothing to do when it is current, else an error.
async fn read_only_check(client: &tokio_postgres::Client) -> Result<Option<Result<Report>>> {
    let row = client
        .query_one(
            "SELECT current_setting('transaction_read_only') = 'on' OR pg_is_in_recovery() AS read_only,
                    to_regclass('refinery_schema_history') IS NOT NULL AS has_history",
            &[],
        )
        .await
        .map_err(Error::pg("checking whether the database is writable"))?;
    let read = Error::pg("checking whether the database is writable");
    let (read_only, has_history): (bool, bool) = match (row.try_get("read_only"), row.try_get("has_history")) {
        (Ok(r), Ok(h)) => (r, h),
        (Err(e), _) | (_, Err(e)) => return Err(read(e)),
    };
    if !read_only {
        return Ok(None);
    }
    let latest = embedded::migrations::runner().get_migrations().iter().map(refinery::Migration::version).max();
    let applied: Option<i32> = if has_history {
        client
            .query_one("SELECT max(version) AS version FROM refinery_schema_history", &[])
            .await
            .and_then(|r| r.try_get("version"))
            .map_err(Error::pg("reading the migration history"))?
    } else {
        None
    };
    Ok(Some(if applied.is_some() && applied >= latest {
        Ok(Report::default())
    } else {
        Err(Error::Migration(format!(
            "the database is read-only (a standby, or default_transaction_read_only is on) and {} migrations are pending; migrate the primary",
            if applied.is_none() { "all" } else { "some" }
        )))
    }))
}

/// Whether a server message says an extension is not installed on the
/// server (PostgreSQL: `could not open extension control file ...`, newer
/// versions: `extension "x" is not available`).
#[must_use]
pub fn is_missing_extension(msg: &str) -> bool {
    msg.contains("extension control file") || (msg.contains("extension") && msg.contains("is not available"))
}

/// A fingerprint of all embedded migrations (name + checksum), so a test
/// template built from an older schema is never reused.
#[must_use]
pub fn fingerprint() -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for m in embedded::migrations::runner().get_migrations() {
        h.update(m.to_string().as_bytes());
        h.update(m.checksum().to_le_bytes());
    }
    hex::encode(&h.finalize()[..8])
}
