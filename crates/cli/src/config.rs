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

/// Which municipalities the coverage engine loads, and where it keeps the
/// snapshot of its grid (issue 24): flattened into the commands that load
/// the engine (`serve`, `recompute`, `plan`).
#[derive(Debug, Clone, Args)]
pub struct EngineArgs {
    /// The state the engine loads: leading AGS digits (`05` North
    /// Rhine-Westphalia, `09` Bavaria, a district's five digits, …) or
    /// `all` for every municipality in the database (all of Germany when it
    /// holds Germany).
    #[arg(long, env = "FUNKPLAN_STATE", default_value = "05", value_parser = parse_state)]
    pub state: funkplan_coverage::load::AgsPrefix,

    /// Directory of the grid snapshot, the loaded grid kept on local disk
    /// for fast cold starts; used only while the database's generation
    /// counters say the grid tables are unchanged since it was written
    /// [default: FUNKPLAN_HOME/snapshots].
    #[arg(long, env = "FUNKPLAN_SNAPSHOT_DIR")]
    pub snapshot_dir: Option<PathBuf>,

    /// Always read the grid from the database and write no snapshot
    /// (`FUNKPLAN_NO_SNAPSHOT=1`).
    #[arg(long, env = "FUNKPLAN_NO_SNAPSHOT", action = clap::ArgAction::SetTrue, value_parser = clap::builder::BoolishValueParser::new())]
    pub no_snapshot: bool,
}

fn parse_state(s: &str) -> Result<funkplan_coverage::load::AgsPrefix, String> {
    s.parse().map_err(|e: funkplan_coverage::Error| e.to_string())
}

impl EngineArgs {
    /// The grid options: the state, and the snapshot directory when
    /// snapshots are on and the directory can be created (else off, with a
    /// warning: a start without a snapshot is slower, not wrong).
    pub fn grid(&self, g: &Global) -> funkplan_coverage::load::GridOptions {
        let snapshot_dir = if self.no_snapshot {
            None
        } else {
            let dir = self.snapshot_dir.clone().unwrap_or_else(|| g.home.clone().unwrap_or_else(|| PathBuf::from(".funkplan")).join("snapshots"));
            match std::fs::create_dir_all(&dir) {
                Ok(()) => Some(dir),
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "grid snapshot directory not usable: snapshots off");
                    None
                }
            }
        };
        funkplan_coverage::load::GridOptions { scope: self.state.clone(), snapshot_dir }
    }
}
