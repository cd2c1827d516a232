//! `funkplan releases [--json]` and `funkplan releases drop DATE [--force]`:
//! the dated coverage releases (issue 16).

use anyhow::Context;
use funkplan_ingest::release::{self, DropOptions};

use crate::config::Global;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(subcommand)]
    action: Option<Action>,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Drop the release of DATE; the releases around it take over its span.
    Drop {
        /// The release's date (YYYY-MM-DD), as `funkplan releases` lists it.
        date: chrono::NaiveDate,
        /// Drop it even when it is the only release and targets with a coverage metric need one.
        #[arg(long)]
        force: bool,
    },
}

pub async fn run(g: &Global, a: Args) -> anyhow::Result<()> {
    let url = g.database_url().await?;
    let (mut client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .map_err(|e| funkplan_db::Error::Connect { url: funkplan_db::redact(&url), detail: funkplan_db::pg_detail(&e) })?;
    let conn = tokio::spawn(conn);
    let result = match a.action {
        None => list(&client, a.json).await,
        Some(Action::Drop { date, force }) => {
            let s = release::drop_release(&mut client, date, DropOptions { force }).await.with_context(|| format!("releases drop {date}"))?;
            if a.json {
                outln!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                outln!("{}", s.notes.join(" "));
            }
            Ok(())
        }
    };
    drop(client);
    let _ = conn.await;
    result
}

async fn list(client: &tokio_postgres::Client, json: bool) -> anyhow::Result<()> {
    let releases = release::list(client).await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&releases)?);
        return Ok(());
    }
    if releases.is_empty() {
        outln!("no coverage releases (ingest one: funkplan ingest coverage FILE --as-of YYYY-MM-DD)");
        return Ok(());
    }
    outln!("{:<10} {:>10}  {:<12}  {:<16}  source file", "as of", "cells", "checksum", "ingested at (UTC)");
    for r in &releases {
        outln!(
            "{:<10} {:>10}  {:<12}  {:<16}  {}",
            r.as_of,
            r.cells,
            r.checksum.get(..12).unwrap_or(&r.checksum),
            r.ingested_at.format("%Y-%m-%d %H:%M"),
            r.source_file
        );
    }
    Ok(())
}
