//! Settings shared by all subcommands, from flags and the environment.

use std::path::PathBuf;

use clap::Args;
use tracing_subscriber::EnvFilter;

/// Flags every subcommand takes.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// PostgreSQL connection string. Unset: use the embedded cluster under
    /// FUNKPLAN_HOME, started on demand.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Home of the embedded cluster and local state [default: ./.funkplan].
    #[arg(long, env = "FUNKPLAN_HOME", global = true)]
    pub home: Option<PathBuf>,

    /// Log format on stderr: `text` or `json`. Levels via RUST_LOG.
    #[arg(long, env = "FUNKPLAN_LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: String,
}

impl Global {
    /// The connection string in use, starting the embedded cluster if needed.
    pub async fn database_url(&self) -> anyhow::Result<String> {
        Ok(funkplan_db::resolve_url(self.database_url.as_deref(), self.home.as_deref()).await?)
    }

    /// A pool on the database in use.
    pub async fn db(&self) -> anyhow::Result<funkplan_db::Db> {
        let url = self.database_url().await?;
        Ok(funkplan_db::Db::connect(&url, &funkplan_db::PoolOptions::default()).await?)
    }
}

pub fn init_tracing(g: &Global) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn,refinery_core=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if g.log_format == "json" {
        builder.json().init();
    } else {
        builder.with_target(false).compact().init();
    }
}
