#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
//!
//! The database side of Funkplan NRW.
//!
//! - [`embedded`]: the private PostgreSQL cluster used when no
//!   `DATABASE_URL` is given (docs/operations.md), run as the `postgres` system user
//!   when we are root, because PostgreSQL refuses to run as root.
//! - [`Db`]: the connection pool, checked against minimum versions at start.
//! - [`replica`]: hot standbys for reads, in rotation while caught up.
//! - [`migrate`] and [`seed`]: schema and reference data, both idempotent.
//! - `testing` (feature): one fresh database per test, cloned from a migrated
//!   and seeded template.

pub mod embedded;
mod error;
pub mod migrate;
mod pool;
pub mod replica;
pub mod seed;
#[cfg(feature = "testing")]
pub mod testing;
mod url;

pub use deadpool_postgres::{Object as Conn, Pool};
pub use error::{pg_detail, Error, Result};
pub use pool::{Db, PoolOptions};
pub use replica::{parse_lag, Lsn, ReadSet, ReadSource, ReplicaOptions};
pub use url::{redact, with_dbname};

/// Where the connection string comes from: `DATABASE_URL` if set (never
/// start a cluster then), else the embedded cluster under `home`, started on
/// demand and reused when already running.
///
/// Returns the URL of the application database (created if missing).
pub async fn resolve_url(database_url: Option<&str>, home: Option<&std::path::Path>) -> Result<String> {
    if let Some(url) = database_url.filter(|u| !u.trim().is_empty()) {
        return Ok(url.to_owned());
    }
    let cluster = embedded::Cluster::locate(home)?;
    let c2 = cluster.clone();
    tokio::task::spawn_blocking(move || c2.start(&embedded::StartOptions::default()))
        .await
        .map_err(|e| Error::Command { what: "starting the embedded cluster".into(), detail: e.to_string() })??;
    cluster.ensure_database(embedded::APP_DB).await?;
    Ok(cluster.url(embedded::APP_DB))
}
