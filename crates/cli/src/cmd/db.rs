//! `funkplan db start|stop|status|url`.

use anyhow::bail;
use clap::Subcommand;
use funkplan_db::embedded::{Cluster, StartOptions, Started, Status, APP_DB};

use crate::config::Global;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Start the embedded cluster (create it first if needed).
    Start {
        /// Turn fsync off: only for throw-away clusters (tests, benchmarks).
        #[arg(long)]
        no_fsync: bool,
    },
    /// Stop the embedded cluster; its data is kept.
    Stop,
    /// Say whether the embedded cluster runs.
    Status,
    /// Print the connection string in use.
    Url,
}

pub async fn run(g: &Global, a: Args) -> anyhow::Result<()> {
    if let Action::Url = a.action {
        outln!("{}", g.database_url().await?);
        return Ok(());
    }
    if g.database_url.as_deref().is_some_and(|u| !u.is_empty()) {
        bail!("DATABASE_URL is set, so the embedded cluster is not used; unset it to manage the embedded cluster");
    }
    let cluster = Cluster::locate(g.home.as_deref())?;
    match a.action {
        Action::Start { no_fsync } => {
            let c = cluster.clone();
            let outcome = tokio::task::spawn_blocking(move || c.start(&StartOptions { no_fsync })).await??;
            cluster.ensure_database(APP_DB).await?;
            let what = match outcome {
                Started::Created => "created and started",
                Started::Started => "started",
                Started::AlreadyRunning => "already running",
            };
            outln!("embedded PostgreSQL {what}: {}", cluster.url(APP_DB));
        }
        Action::Stop => {
            let stopped = tokio::task::spawn_blocking(move || cluster.stop()).await??;
            outln!("{}", if stopped { "embedded PostgreSQL stopped" } else { "embedded PostgreSQL was not running" });
        }
        Action::Status => match cluster.status()? {
            Status::Running { pid } => outln!(
                "running (pid {}), data {}, {}",
                pid.map_or_else(|| "?".into(), |p| p.to_string()),
                cluster.data_dir.display(),
                cluster.url(APP_DB)
            ),
            Status::Stopped => outln!("stopped, data {}", cluster.data_dir.display()),
            Status::NotInitialised => outln!("not created yet; `funkplan db start` creates it"),
        },
        Action::Url => {}
    }
    Ok(())
}
