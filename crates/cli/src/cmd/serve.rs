//! `funkplan serve`: migrate, then serve the API and the web app.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use funkplan_api::origin::OriginConfig;
use funkplan_api::ServeOptions;

use crate::config::Global;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "FUNKPLAN_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Directory of the built web app, served at `/` (index.html answers
    /// client routes). Missing: `/` says the app is not built.
    #[arg(long, env = "FUNKPLAN_WEB_DIR", default_value = "web/dist")]
    web_dir: PathBuf,
    /// Database connections kept for requests. Most reads are answered
    /// from the response cache, so a few per core serve 64 clients.
    #[arg(long, env = "FUNKPLAN_POOL_SIZE", default_value_t = 16)]
    pool_size: usize,
    /// The URL clients reach the server at, e.g. `https://karte.example/funkplan`:
    /// every absolute link in answers starts with it, and forwarded headers
    /// are ignored. Unset: links use the request's `Host` (and, from trusted
    /// proxies only, `Forwarded` / `X-Forwarded-Host/Proto/Prefix`).
    #[arg(long, env = "FUNKPLAN_PUBLIC_URL")]
    public_url: Option<String>,
    /// Reverse proxies whose forwarded headers are believed: addresses or
    /// CIDR networks, comma-separated (e.g. `127.0.0.1,10.0.0.0/8`).
    /// Default none: forwarded headers from anyone else are ignored.
    #[arg(long, env = "FUNKPLAN_TRUSTED_PROXIES", default_value = "")]
    trusted_proxies: String,
    /// Connections served at once; past it `/healthz` still answers and
    /// everything else gets 503. Lowered to fit the open-files limit.
    #[arg(long, env = "FUNKPLAN_MAX_CONNECTIONS", default_value_t = 10_000)]
    max_connections: usize,
    /// Seconds a client has to send a request head, and that a kept-alive
    /// connection may wait idle for the next one.
    #[arg(long, env = "FUNKPLAN_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    header_timeout_secs: u64,
    /// Longest pause, in seconds, within a request body (408 beyond).
    #[arg(long, env = "FUNKPLAN_BODY_TIMEOUT_SECS", default_value_t = 30)]
    body_timeout_secs: u64,
    /// Sites written through the API must lie within this many metres of
    /// the loaded municipalities (the state plus a border margin: masts just
    /// across the border serve it too); farther ones are refused with 422.
    #[arg(long, env = "FUNKPLAN_SITE_MARGIN_M", default_value_t = funkplan_model::DEFAULT_SITE_MARGIN_M, value_parser = metres)]
    site_margin_m: f64,
    /// Hot standbys for reads (issue 25): connection strings,
    /// comma-separated. GET requests read from them in turn; writes, the
    /// coverage engine and the change listener use DATABASE_URL (the
    /// primary). docs/deployment.md sets one up.
    #[arg(long, env = "DATABASE_READ_URL", default_value = "", hide_env_values = true)]
    database_read_url: String,
    /// A standby whose replay has been behind the primary longer than this
    /// is out of rotation until it catches up: seconds, or e.g. `500ms`.
    #[arg(long, env = "FUNKPLAN_MAX_REPLICA_LAG", default_value = "5", value_parser = funkplan_db::parse_lag)]
    max_replica_lag: Duration,
    #[command(flatten)]
    engine_args: crate::config::EngineArgs,
}

/// One pool per standby URL of `DATABASE_READ_URL` (empty entries
/// skipped), none connected yet: a standby that is down at start is only
/// out of rotation.
fn standbys(list: &str, pool_size: usize) -> anyhow::Result<Vec<funkplan_db::Db>> {
    let opts = funkplan_db::PoolOptions { max_size: pool_size, warm_up: true, ..funkplan_db::PoolOptions::default() };
    list.split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .enumerate()
        .map(|(i, u)| {
            funkplan_db::Db::lazy(u, &opts).map_err(|e| anyhow::anyhow!("DATABASE_READ_URL, entry {}: {e}", i + 1))
        })
        .collect()
}

/// A distance in metres: finite and not negative.
pub(crate) fn metres(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(m) if m.is_finite() && m >= 0.0 => Ok(m),
        _ => Err(format!("{s:?} is not a distance in metres (a number >= 0, e.g. 20000)")),
    }
}

pub async fn run(g: &Global, a: Args) -> anyhow::Result<()> {
    // Settings first: a typo in them is said before anything starts.
    let origin = OriginConfig::new(a.public_url.as_deref(), OriginConfig::parse_proxies(&a.trusted_proxies)?)?;
    anyhow::ensure!(a.max_connections > 0, "--max-connections must be at least 1");
    anyhow::ensure!(a.header_timeout_secs > 0, "--header-timeout-secs must be at least 1");
    anyhow::ensure!(a.body_timeout_secs > 0, "--body-timeout-secs must be at least 1");
    let limits = ServeOptions {
        max_connections: a.max_connections,
        header_timeout: Duration::from_secs(a.header_timeout_secs),
        body_timeout: Duration::from_secs(a.body_timeout_secs),
    }
    .fitted_to_fd_limit();
    // Bind first so "port in use" is said before any database work.
    let listener = funkplan_api::bind(a.addr).await?;
    let url = g.database_url().await?;
    funkplan_db::migrate::run(&url).await?;
    let opts = funkplan_db::PoolOptions { max_size: a.pool_size.max(2), warm_up: true, ..funkplan_db::PoolOptions::default() };
    let db = funkplan_db::Db::connect(&url, &opts).await?;
    let postgis = db.postgis_version().await?;
    tracing::info!(%postgis, "PostGIS available");
    db.fill().await;
    if !a.web_dir.join("index.html").is_file() {
        tracing::warn!(dir = %a.web_dir.display(), "web app not built; `/` shows a notice");
    }
    // The engine stays in memory so one write is reflected in its
    // municipalities' figures in milliseconds (the grid is read once here;
    // after re-ingesting municipalities or households, restart `serve`).
    let hook = std::sync::Arc::new(crate::live_hook::LiveHook::load(&db, a.engine_args.grid(g)).await.map_err(|e| anyhow::anyhow!(e))?);
    let standbys = standbys(&a.database_read_url, a.pool_size.max(2))?;
    if !standbys.is_empty() {
        tracing::info!(standbys = standbys.len(), max_lag_s = a.max_replica_lag.as_secs_f64(), "reads go to hot standbys while they keep up");
    }
    let reads = funkplan_db::ReadSet::new(db.clone(), standbys, funkplan_db::ReplicaOptions { max_lag: a.max_replica_lag, ..Default::default() });
    let state = funkplan_api::AppState::new(db)
        .with_read_set(reads)
        .with_web_dir(a.web_dir)
        .with_coverage_hook(hook.clone())
        .with_origin(origin)
        .with_site_margin_m(a.site_margin_m);
    let cache = state.clone();
    hook.on_follow(move || cache.invalidate());
    funkplan_api::serve(listener, state, limits).await?;
    Ok(())
}
