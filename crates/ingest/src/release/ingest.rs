//! `ingest coverage FILE… [--as-of DATE] [--partial]`: each file stored as
//! (or, partial, merged into) the release of its date, all files in one
//! transaction.
//!
//! A file is its release whole: cells it lacks are not covered at that
//! date. With `--partial` (one operator's flags, one district's extract)
//! its cells are put over the release of that date, or over a copy of the
//! release in force then when the date has none yet. The same content again
//! for a date changes nothing; other content replaces the release whole.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::NaiveDate;
use tokio_postgres::Transaction;

use super::{date, versions, Place};
use crate::coverage::{self, Parsed, Row};
use crate::{formats, source, Error, Kind, Options, Result, Summary};

/// Ingest the coverage files at `paths` as releases, in one transaction:
/// one [`Summary`] (and one `ingest_run` row) per release date, oldest
/// first. Nothing changes when any file or date is refused.
///
/// # Errors
/// A refused date ([`date::DateError`], as [`Error::Usage`]), two files
/// claiming one date with different content, bad rows ([`Error::Invalid`]),
/// I/O and database errors.
#[tracing::instrument(skip(client, opts), fields(files = paths.len()))]
pub async fn ingest_files(client: &mut tokio_postgres::Client, paths: &[PathBuf], opts: &Options) -> Result<Vec<Summary>> {
    let started = Instant::now();
    if paths.is_empty() {
        return Err(Error::Usage("ingest coverage: no file given".into()));
    }
    let today = opts.today();
    // Every date first: a refused one costs no parsing.
    let mut dated = Vec::with_capacity(paths.len());
    for p in paths {
        let d = date::resolve(&source::display_name(p), opts.as_of, today).map_err(|e| Error::Usage(e.to_string()))?;
        dated.push((d, p.clone()));
    }
    let tx = client.transaction().await.map_err(Error::pg("starting the ingest transaction"))?;
    let ops = crate::sites::operators(&tx).await?;
    // Parse on blocking threads while the releases are locked and read.
    let parsing: Vec<_> = dated
        .iter()
        .map(|(_, p)| {
            let (p, ops, show) = (p.clone(), ops.clone(), opts.progress);
            tokio::task::spawn_blocking(move || coverage::parse(&p, formats::display_name(&p, Kind::Coverage), ops, show))
        })
        .collect();
    tx.batch_execute(include_str!("../../sql/release_lock.sql")).await.map_err(Error::pg("locking the coverage releases"))?;
    // While the files parse: the grid (for the summary's count of cells
    // outside it) and, when the oldest file's release will be the latest
    // and is not just the same whole file again, reported_coverage, which
    // that release is compared with and written over.
    let first = dated.iter().map(|(d, _)| *d).min();
    let prefetch = async {
        let list = super::list(&tx).await?;
        let worth = match (first, list.last()) {
            (Some(f), Some(latest)) => f >= latest.as_of && (opts.partial || list.iter().all(|r| r.as_of != f)),
            _ => false,
        };
        if worth {
            let t = Instant::now();
            let table = coverage::read_table(&tx).await?;
            tracing::debug!(ms = t.elapsed().as_secs_f64() * 1e3, rows = table.len(), "reported_coverage read");
            Ok::<_, Error>(Some(table))
        } else {
            Ok(None)
        }
    };
    let parsed = async {
        let mut groups: BTreeMap<NaiveDate, Vec<Parsed>> = BTreeMap::new();
        for ((d, _), task) in dated.iter().zip(parsing) {
            let parsed = task.await.map_err(|e| Error::Usage(format!("coverage parser failed: {e}")))??;
            groups.entry(*d).or_default().push(parsed);
        }
        tracing::debug!(ms = started.elapsed().as_secs_f64() * 1e3, "files parsed");
        Ok::<_, Error>(groups)
    };
    let (groups, grid, table) = tokio::join!(parsed, crate::pgcopy::read_grid(&tx), prefetch);
    let (mut groups, grid, mut table) = (groups?, grid?, table?);
    tracing::debug!(ms = started.elapsed().as_secs_f64() * 1e3, "files parsed, grid and table read");
    coverage::outside_grid(&grid, groups.values_mut().flatten());
    drop(grid);
    if !opts.partial {
        for (d, files) in &groups {
            if let Some(other) = files.iter().find(|f| f.sum != files[0].sum) {
                return Err(Error::Usage(format!(
                    "{} and {} both claim the release of {d} with different content: give one of them, or --partial to merge them",
                    files[0].file, other.file
                )));
            }
        }
    }
    let mut summaries = Vec::with_capacity(groups.len());
    for (d, files) in groups {
        let t = Instant::now();
        let mut s = apply(&tx, d, files, opts, &mut table).await?;
        s.duration_ms = t.elapsed().as_secs_f64() * 1000.0;
        summaries.push(s);
    }
    if opts.dry_run {
        tx.rollback().await.map_err(Error::pg("rolling back the dry run"))?;
    } else {
        for s in &summaries {
            let run = crate::record(&tx, s).await?;
            if s.detail.get("action").and_then(serde_json::Value::as_str) != Some("unchanged") {
                let d = s.detail.get("as_of").and_then(serde_json::Value::as_str).and_then(|d| d.parse::<NaiveDate>().ok());
                tx.execute(include_str!("../../sql/release_run.sql"), &[&d, &run]).await.map_err(Error::pg("recording the release's ingest run"))?;
            }
        }
        tx.commit().await.map_err(Error::pg("committing the ingest"))?;
    }
    tracing::info!(releases = summaries.len(), ms = started.elapsed().as_secs_f64() * 1e3, "coverage releases ingested");
    Ok(summaries)
}

/// Store the release of `date` from `files` (one, or several partial ones
/// merged in order), keeping `reported_coverage` the latest release.
/// `table` is reported_coverage's content when an earlier release of the
/// same command left it known (so a series is not read back each time).
async fn apply(tx: &Transaction<'_>, date: NaiveDate, files: Vec<Parsed>, opts: &Options, table: &mut Option<Vec<Row>>) -> Result<Summary> {
    let list = super::list(tx).await?;
    let place = Place::of(&list, date);
    let mut summary = summary_of(&files, opts);
    summary.detail.insert("as_of".into(), date.to_string().into());
    let names = files.iter().map(|f| f.file.as_str()).collect::<Vec<_>>().join(", ");
    let sha = files.last().map(|f| f.sha256.clone()).unwrap_or_default();
    let outside: usize = files.iter().map(|f| f.outside).sum();
    summary.detail.insert("cells_outside_grid".into(), outside.into());
    summary.notes.push(format!("{outside} of the cells lie outside the municipalities' grid (kept as published)."));
    summary.detail.insert("compared_with".into(), compared_with(&place).into());
    // The same whole file as the stored release, and reported_coverage
    // (when it is the latest) still holds that release by its checksum:
    // nothing to read, compare or write.
    let table_sum = if place.is_latest() { stored_table_checksum(tx).await? } else { None };
    if let (false, Some(at), [f]) = (opts.partial, place.at, files.as_slice()) {
        if at.checksum == f.sum.0 && (!place.is_latest() || table_sum.as_deref() == Some(f.sum.0.as_str())) {
            summary.unchanged = summary.rows;
            summary.detail.insert("compared".into(), "checksum".into());
            return Ok(unchanged(summary, date));
        }
    }
    summary.detail.insert("compared".into(), "rows".into());
    // What is in force at `date` now: the table when `date` is (or becomes)
    // the latest release (the invariant), else from the versions.
    let before: Vec<Row> = match place.latest {
        None => Vec::new(),
        Some(_) if place.is_latest() => match table.take() {
            Some(t) => t,
            None => coverage::read_table(tx).await?,
        },
        Some(_) => coverage::read_in_force(tx, date).await?,
    };
    let single_source = (!opts.partial).then(|| sha.clone());
    let content: Vec<Row> = if opts.partial {
        files.iter().fold(before.clone(), |acc, f| coverage::overlay(acc, &f.rows))
    } else {
        files.into_iter().next().map(|f| f.rows).unwrap_or_default()
    };
    let t0 = Instant::now();
    let sum = coverage::release_checksum(&content);
    let (added, changed, removed) = coverage::diff(&before, &content);
    tracing::debug!(ms = t0.elapsed().as_secs_f64() * 1e3, "release checksum and difference");
    summary.inserted = added;
    summary.updated = changed;
    summary.unchanged = summary.rows.saturating_sub(added + changed);
    if place.at.is_some_and(|r| r.checksum == sum.0) {
        // The release is as stored; the table (the latest release) had
        // moved away from it (written by other means): put it back.
        if place.is_latest() {
            coverage::write_table(tx, &before, &content, &sum, single_source.as_deref(), &mut summary.detail).await?;
            *table = Some(content);
        } else {
            (summary.inserted, summary.updated, summary.unchanged) = (0, 0, summary.rows);
        }
        return Ok(unchanged(summary, date));
    }
    let action = match (place.at.is_some(), opts.partial) {
        (_, true) => "merged",
        (true, false) => "replaced",
        (false, false) => "inserted",
    };
    summary.detail.insert("action".into(), action.into());
    for (k, v) in [("cells_new", added), ("cells_changed", changed), ("cells_removed", removed)] {
        summary.detail.insert(k.into(), v.into());
    }
    // The versions, against what is in force at the date now (a release of
    // that date is re-stated in place: only the cells that change move).
    let next = place.next.map(|r| r.as_of);
    if let (Some(old), true) = (place.at, opts.partial) {
        summary.detail.insert("merged_into".into(), old.source_file.clone().into());
    }
    let source_file = match place.at {
        Some(old) if opts.partial => format!("{}, {names}", old.source_file),
        _ => names,
    };
    let cells = i64::try_from(content.len()).unwrap_or(i64::MAX);
    tx.execute(include_str!("../../sql/release_put.sql"), &[&date, &cells, &sum.0, &source_file, &sha])
        .await
        .map_err(Error::pg("storing the release"))?;
    let t0 = Instant::now();
    let alone = list.iter().all(|r| r.as_of == date);
    let how = versions::insert(tx, date, next, &before, &content, alone).await?;
    summary.detail.insert("versions_write".into(), how.into());
    tracing::debug!(ms = t0.elapsed().as_secs_f64() * 1e3, "versions written");
    // The invariant: reported_coverage is the latest release.
    if place.is_latest() {
        coverage::write_table(tx, &before, &content, &sum, single_source.as_deref(), &mut summary.detail).await?;
        *table = Some(content);
    } else {
        summary.detail.insert("write".into(), "older release: reported_coverage untouched".into());
    }
    let verb = match (action, place.prev) {
        ("replaced", _) => "replaced the release of that date whole".to_owned(),
        ("merged", _) if place.at.is_some() => "merged into the release of that date".to_owned(),
        ("merged", Some(p)) => format!("a new release, the file merged into a copy of the release in force ({})", p.as_of),
        ("merged", None) => "a new release (the first: nothing to merge into)".to_owned(),
        _ => "a new release".to_owned(),
    };
    summary.notes.push(format!(
        "Release {date}: {verb}; {added} cells new, {changed} changed, {removed} removed against {}.",
        compared_with(&place)
    ));
    Ok(summary)
}

/// `summary` of a release left as it was.
fn unchanged(mut summary: Summary, date: NaiveDate) -> Summary {
    summary.detail.insert("action".into(), "unchanged".into());
    summary.detail.entry("write").or_insert_with(|| "no change".into());
    summary.notes.push(format!("Release {date}: the same content as the stored release of that date; the release is unchanged."));
    summary
}

/// The stored checksum of reported_coverage (migration V40), if still valid.
async fn stored_table_checksum(tx: &Transaction<'_>) -> Result<Option<String>> {
    const W: &str = "reading reported_coverage's checksum";
    let row = tx.query_opt(include_str!("../../sql/checksum_get.sql"), &[&"reported_coverage"]).await.map_err(Error::pg(W))?;
    row.map(|r| crate::col(&r, "checksum", W)).transpose()
}

/// What the release's cell counts are compared with, in words.
fn compared_with(place: &Place<'_>) -> String {
    match (place.at, place.prev) {
        (Some(r), _) => format!("the stored release of {}", r.as_of),
        (None, Some(p)) => format!("the release before ({})", p.as_of),
        (None, None) => "no release (the first)".into(),
    }
}

/// The summary of one release made from `files`.
fn summary_of(files: &[Parsed], opts: &Options) -> Summary {
    let mut s = Summary::new(Kind::Coverage, Path::new(""), opts);
    s.file = files.iter().map(|f| f.file.as_str()).collect::<Vec<_>>().join(", ");
    s.sha256 = files.last().map(|f| f.sha256.clone()).unwrap_or_default();
    s.rows = files.iter().map(|f| f.rows.len() as u64).sum();
    let layouts: Vec<&str> = files.iter().map(|f| f.layout).collect();
    let layout = layouts.first().copied().unwrap_or_default();
    s.detail.insert("layout".into(), layout.into());
    s.notes.push(format!("Layout: {}.", layouts.join(", ")));
    s
}
