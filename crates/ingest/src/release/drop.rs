//! `releases drop DATE`: take one release out, in one transaction, keeping
//! `reported_coverage` the latest release and recording the drop in the
//! ingest provenance.

use std::time::Instant;

use chrono::NaiveDate;

use super::{dates, versions, Place};
use crate::{coverage, Error, Kind, Options, Result, Summary};

/// What the caller allows.
#[derive(Clone, Copy, Debug, Default)]
pub struct DropOptions {
    /// Drop even the only release while targets with a coverage metric
    /// exist (their history then has no reported coverage at all).
    pub force: bool,
}

/// Drop the release of `date`.
///
/// Refused (nothing changed) when there is no release of that date (the
/// message lists the dates there are), and when it is the only release
/// while targets with a coverage metric exist, unless [`DropOptions::force`]:
/// their monthly history needs some release to count from.
///
/// # Errors
/// [`Error::Usage`] for the refusals above; database errors.
#[tracing::instrument(skip(client))]
pub async fn drop_release(client: &mut tokio_postgres::Client, date: NaiveDate, o: DropOptions) -> Result<Summary> {
    let started = Instant::now();
    let tx = client.transaction().await.map_err(Error::pg("starting the drop transaction"))?;
    tx.batch_execute(include_str!("../../sql/release_lock.sql")).await.map_err(Error::pg("locking the coverage releases"))?;
    let list = super::list(&tx).await?;
    let place = Place::of(&list, date);
    let Some(gone) = place.at else {
        return Err(Error::Usage(format!("no coverage release dated {date}; the releases are: {}", dates(&list))));
    };
    if list.len() == 1 && !o.force {
        let row = tx.query_one(include_str!("../../sql/release_coverage_targets.sql"), &[]).await.map_err(Error::pg("counting coverage targets"))?;
        let targets: i64 = crate::col(&row, "targets", "counting coverage targets")?;
        if targets > 0 {
            return Err(Error::Usage(format!(
                "refusing to drop {date}, the only coverage release: the history of {targets} target(s) with a coverage metric needs it (--force to drop it anyway)"
            )));
        }
    }
    let next = place.next.map(|r| r.as_of);
    let old = if place.is_latest() { Some(coverage::read_table(&tx).await?) } else { None };
    versions::drop(&tx, date, next).await?;
    versions::delete_release(&tx, date).await?;
    let mut s = Summary::new(Kind::Coverage, std::path::Path::new(""), &Options::default());
    s.file = format!("releases drop {date} ({})", gone.source_file);
    s.sha256.clone_from(&gone.source_sha256);
    s.rows = u64::try_from(gone.cells).unwrap_or(0);
    s.detail.insert("as_of".into(), date.to_string().into());
    s.detail.insert("action".into(), "dropped".into());
    if let Some(old) = old {
        // The latest release goes: the one before becomes the latest.
        let new = match place.prev {
            Some(p) => coverage::read_in_force(&tx, p.as_of).await?,
            None => Vec::new(),
        };
        let (added, changed, removed) = coverage::diff(&old, &new);
        for (k, v) in [("cells_new", added), ("cells_changed", changed), ("cells_removed", removed)] {
            s.detail.insert(k.into(), v.into());
        }
        let sum = coverage::release_checksum(&new);
        coverage::write_table(&tx, &old, &new, &sum, None, &mut s.detail).await?;
        let now = place.prev.map_or_else(|| "no release is left".to_owned(), |p| format!("the latest release is now {}", p.as_of));
        s.notes.push(format!("Dropped release {date}; {now} ({added} cells new, {changed} changed, {removed} removed in the current coverage)."));
    } else {
        s.detail.insert("write".into(), "older release: reported_coverage untouched".into());
        s.notes.push(format!("Dropped release {date}; the current coverage is unchanged."));
    }
    s.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    crate::record(&tx, &s).await?;
    tx.commit().await.map_err(Error::pg("committing the drop"))?;
    Ok(s)
}
