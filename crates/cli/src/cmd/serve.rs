//! `funkplan serve`: migrate, then serve the API and the web app.

use std::net::SocketAddr;
use std::path::PathBuf;

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
    /// Sites written through the API must lie within this many metres of
    /// the loaded municipalities (the state plus a border margin: masts just
    /// across the border serve it too); farther ones are refused with 422.
    #[arg(long, env = "FUNKPLAN_SITE_MARGIN_M", default_value_t = funkplan_model::DEFAULT_SITE_MARGIN_M, value_parser = metres)]
    site_margin_m: f64,
}

/// A distance in metres: finite and not negative.
pub(crate) fn metres(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(m) if m.is_finite() && m >= 0.0 => Ok(m),
        _ => Err(format!("{s:?} is not a distance in metres (a number >= 0, e.g. 20000)")),
    }
}

pub async fn run(g: &Global, a: Args) -> anyhow::Result<()> {
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
    let live = funkplan_coverage::Live::load(&db, None).await?;
    live.warm_up(&db).await?;
    let hook = std::sync::Arc::new(crate::live_hook::LiveHook { live, db: db.clone() });
    let state = funkplan_api::AppState::new(db)
        .with_web_dir(a.web_dir)
        .with_coverage_hook(hook)
        .with_site_margin_m(a.site_margin_m);
    funkplan_api::serve(listener, state).await?;
    Ok(())
}
