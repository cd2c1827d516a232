//! `funkplan serve`: migrate, then serve the API and the web app.

use std::net::SocketAddr;

use crate::config::Global;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "FUNKPLAN_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
}

pub async fn run(g: &Global, a: Args) -> anyhow::Result<()> {
    // Bind first so "port in use" is said before any database work.
    let listener = funkplan_api::bind(a.addr).await?;
    let url = g.database_url().await?;
    funkplan_db::migrate::run(&url).await?;
    let db = funkplan_db::Db::connect(&url, &funkplan_db::PoolOptions::default()).await?;
    let postgis = db.postgis_version().await?;
    tracing::info!(%postgis, "PostGIS available");
    funkplan_api::serve(listener, funkplan_api::AppState::new(db)).await?;
    Ok(())
}
