//! `funkplan migrate` and `funkplan seed`.

use crate::config::Global;

pub async fn run(g: &Global) -> anyhow::Result<()> {
    let url = g.database_url().await?;
    let report = funkplan_db::migrate::run(&url).await?;
    let db = funkplan_db::Db::connect(&url, &funkplan_db::PoolOptions { max_size: 1, ..Default::default() }).await?;
    let postgis = db.postgis_version().await?;
    if report.applied.is_empty() {
        outln!("schema is up to date (PostGIS {postgis})");
    } else {
        outln!("applied {} migration(s): {} (PostGIS {postgis})", report.applied.len(), report.applied.join(", "));
    }
    Ok(())
}

pub async fn seed(g: &Global) -> anyhow::Result<()> {
    let url = g.database_url().await?;
    let seeds = funkplan_db::seed::Seeds::embedded()?;
    let (mut client, conn) = tokio_postgres_connect(&url).await?;
    let report = funkplan_db::seed::run(&mut client, &seeds).await?;
    drop(client);
    let _ = conn.await;
    outln!(
        "seeded {} targets, {} operators, {} coverage radii, {} model parameters",
        report.targets, report.operators, report.radii, report.params
    );
    Ok(())
}

async fn tokio_postgres_connect(
    url: &str,
) -> anyhow::Result<(tokio_postgres::Client, tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>)> {
    let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to {}: {}", funkplan_db::redact(url), funkplan_db::pg_detail(&e)))?;
    Ok((c, tokio::spawn(conn)))
}
