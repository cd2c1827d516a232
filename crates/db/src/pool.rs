use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use crate::{pg_detail, redact, Error, Result};

/// Pool settings; the defaults suit a 2-core server with 64 HTTP clients.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Connections at most.
    pub max_size: usize,
    /// How long a request waits for a connection before the API answers 503.
    pub wait_timeout: Duration,
    /// Run one reprojection on every new connection before handing it out.
    /// A backend's first `ST_Transform` loads PROJ's database (~60 ms
    /// measured); a server answering writes within 50 ms pays that on a
    /// fresh connection, not inside a client's request. Off for short-lived
    /// commands, which would only pay it once more.
    pub warm_up: bool,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self { max_size: 16, wait_timeout: Duration::from_secs(3), warm_up: false }
    }
}

/// Both directions the API reprojects (EPSG:4326 ↔ 25832). Errors are
/// ignored: a database without PostGIS is reported where it matters (by
/// `migrate`), not by failing to connect.
const WARM_UP: &str = "SELECT ST_Transform(ST_Transform(ST_SetSRID(ST_MakePoint(7.0, 51.5), 4326), 25832), 4326)";

/// A pool on `url` that has not connected yet.
fn build_pool(url: &str, opts: &PoolOptions, timeout: Duration) -> Result<Pool> {
    let cfg: tokio_postgres::Config = url
        .parse()
        .map_err(|e: tokio_postgres::Error| Error::Connect { url: redact(url), detail: pg_detail(&e) })?;
    let mgr = Manager::from_config(cfg, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    let mut builder = Pool::builder(mgr);
    if opts.warm_up {
        builder = builder.post_create(deadpool_postgres::Hook::async_fn(|client, _| {
            Box::pin(async move {
                if let Err(e) = client.simple_query(WARM_UP).await {
                    tracing::debug!(error = %pg_detail(&e), "connection warm-up skipped");
                }
                Ok(())
            })
        }));
    }
    builder
        .max_size(opts.max_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(opts.wait_timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .build()
        .map_err(|e| Error::Connect { url: redact(url), detail: e.to_string() })
}

/// The project's handle on the database: a pool plus the URL it came from
/// (redacted in every message).
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    url: String,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("url", &redact(&self.url)).finish_non_exhaustive()
    }
}

/// Minimum server version (PostgreSQL 14: `CREATE DATABASE ... STRATEGY`,
/// multirange and the JSON subscripting we may rely on).
const MIN_SERVER_VERSION: i32 = 140_000;

impl Db {
    /// Connect, check that the server answers and is new enough, and log the
    /// versions. Fails with a one-line reason when the server is away.
    pub async fn connect(url: &str, opts: &PoolOptions) -> Result<Self> {
        let pool = build_pool(url, opts, Duration::from_secs(5))?;
        let db = Self { pool, url: url.to_owned() };
        let client = db.pool.get().await.map_err(|e| Error::Connect {
            url: redact(url),
            detail: match &e {
                deadpool_postgres::PoolError::Backend(pe) => pg_detail(pe),
                other => other.to_string(),
            },
        })?;
        let row = client
            .query_one("SELECT current_setting('server_version_num')::int AS num, current_setting('server_version') AS version", &[])
            .await
            .map_err(Error::pg("reading the server version"))?;
        let read = Error::pg("reading the server version");
        let (num, version): (i32, String) = match (row.try_get("num"), row.try_get("version")) {
            (Ok(n), Ok(v)) => (n, v),
            (Err(e), _) | (_, Err(e)) => return Err(read(e)),
        };
        if num < MIN_SERVER_VERSION {
            return Err(Error::ServerTooOld { found: version });
        }
        tracing::debug!(server = %version, url = %redact(url), "connected to PostgreSQL");
        Ok(db)
    }

    /// A pool on `url` that connects on first use, without checking now
    /// that the server answers: for standbys, which may be down when a
    /// server starts (the replica checker says so, and routes around them).
    ///
    /// # Errors
    /// When `url` is not a connection string.
    pub fn lazy(url: &str, opts: &PoolOptions) -> Result<Self> {
        let pool = build_pool(url, opts, Duration::from_secs(2))?;
        Ok(Self { pool, url: url.to_owned() })
    }

    /// A connection from the pool.
    pub async fn conn(&self) -> Result<deadpool_postgres::Object> {
        Ok(self.pool.get().await?)
    }

    /// Open every connection of the pool now (each warmed up when
    /// [`PoolOptions::warm_up`] is set) and put them back, so that the first
    /// requests after a start find them ready. Best effort: stops at the
    /// first connection that cannot be had.
    pub async fn fill(&self) {
        let max = self.pool.status().max_size;
        let got = futures_util::future::join_all((0..max).map(|_| self.pool.get())).await;
        let ready = got.iter().filter(|c| c.is_ok()).count();
        tracing::debug!(ready, max, "connection pool filled");
    }

    /// The underlying pool (for its status in metrics).
    #[must_use]
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The connection string (unredacted: for child processes, never logs).
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The PostGIS version, or an error saying PostGIS is missing.
    pub async fn postgis_version(&self) -> Result<String> {
        let c = self.conn().await?;
        match c.query_one("SELECT postgis_lib_version() AS version", &[]).await {
            Ok(r) => r.try_get("version").map_err(Error::pg("reading the PostGIS version")),
            Err(e) => Err(Error::PostgisMissing(pg_detail(&e))),
        }
    }
}
