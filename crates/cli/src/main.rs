#![doc = include_str!("../README.md")]
//!
//! `funkplan`: the one command of Funkplan NRW (README.md).
//!
//! A thin shim: parse flags, set up logging, resolve the database, hand over
//! to the library crates. Exit code 0 on success; otherwise one line on
//! stderr saying why.

// The CLI's own output goes to stdout by design.
#![allow(clippy::print_stdout)]

#[macro_use]
mod out;
mod cmd;
mod config;
mod live_hook;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "funkplan", version, about = "Funkplan NRW: mobile-network rollout against the state's targets")]
struct Cli {
    #[command(flatten)]
    global: config::Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API and the web map.
    Serve(cmd::serve::Args),
    /// Manage the embedded PostgreSQL cluster.
    Db(cmd::db::Args),
    /// Apply pending schema migrations.
    Migrate,
    /// Load targets, operators and coverage-model parameters from seeds/.
    Seed,
    /// Show the targets with their current values as a table.
    Targets(cmd::targets::Args),
    /// Load an input file: municipalities, households, sites, measures or coverage.
    Ingest(cmd::ingest::Args),
    /// Write the synthetic demo dataset (deterministic) into a directory.
    DemoData(cmd::demo_data::Args),
    /// Compute coverage per municipality, dead spots, the scenario and the targets' history.
    Recompute(cmd::recompute::Args),
    /// Create, revoke or list API tokens for writes.
    Token(cmd::token::Args),
    /// List the dated coverage releases, or drop one.
    Releases(cmd::releases::Args),
    /// Write the figures as CSV or XLSX, or the whole dataset as GeoPackage.
    Export(cmd::export::Args),
    /// Plan the sites that close the most dead spots (or an operator's gaps).
    Plan(cmd::plan::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    config::init_tracing(&cli.global);
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        match cli.command {
            Command::Serve(a) => cmd::serve::run(&cli.global, a).await,
            Command::Db(a) => cmd::db::run(&cli.global, a).await,
            Command::Migrate => cmd::migrate::run(&cli.global).await,
            Command::Seed => cmd::migrate::seed(&cli.global).await,
            Command::Targets(a) => cmd::targets::run(&cli.global, a).await,
            Command::Ingest(a) => cmd::ingest::run(&cli.global, a).await,
            Command::DemoData(a) => cmd::demo_data::run(a).await,
            Command::Recompute(a) => cmd::recompute::run(&cli.global, a).await,
            Command::Token(a) => cmd::token::run(&cli.global, a).await,
            Command::Releases(a) => cmd::releases::run(&cli.global, a).await,
            Command::Export(a) => cmd::export::run(&cli.global, a).await,
            Command::Plan(a) => cmd::plan::run(&cli.global, a).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// One line: the chain of causes joined with ": ", leaving out a cause whose
/// text an outer message already contains (an error that prints its
/// `#[from]` source, e.g. "while updating target history: {0}", would
/// otherwise say everything twice).
fn one_line(e: &anyhow::Error) -> String {
    let mut s = String::new();
    for cause in e.chain() {
        let c = cause.to_string();
        if s.contains(&c) {
            continue;
        }
        if !s.is_empty() {
            s.push_str(": ");
        }
        s.push_str(&c);
    }
    s.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    /// Like a thiserror `#[error("…: {0}")]` variant with `#[from]`.
    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "while updating target history: {}", self.0)
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn one_line_says_each_cause_once() {
        let inner = std::io::Error::other("disk is full\nfree space");
        let e = anyhow::Error::from(Outer(inner)).context("recompute");
        assert_eq!(super::one_line(&e), "recompute: while updating target history: disk is full free space");
        let e = anyhow::anyhow!("plain").context("outer");
        assert_eq!(super::one_line(&e), "outer: plain");
    }
}
