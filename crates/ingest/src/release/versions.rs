//! Inserting and dropping a release among the per-cell versions, in SQL
//! over staged differences (crates/ingest/sql/release_*.sql), inside the
//! caller's transaction. The algorithms are the issue's:
//!
//! - insert D between P and N: every version in force at D that D changes
//!   or lacks is closed at D (and, if it was also in force at N, re-opened
//!   from N to its old end); D's new and changed cells get a version from D
//!   to N (open when D is the latest). Cells D keeps equal are not touched,
//!   so the work and the growth follow what changed.
//! - re-state an existing D (replaced whole, or a partial file merged in):
//!   the same against D's cells as stored, where a changed cell's version
//!   that *starts* at D gives way — moved to start at N if still in force
//!   there, else deleted. That is "drop D, insert D" without touching the
//!   cells D keeps, so a merge costs what the file changes.
//! - drop D: versions ending at D run on to N (or stay open); versions
//!   starting at D move to N if still in force there, else go.

use chrono::NaiveDate;
use tokio_postgres::Transaction;

use crate::coverage::{self, Row};
use crate::pgcopy::{CopyBuf, CopyIn, Replace};
use crate::{Error, Result};

const STAGE_COLUMNS: &str = "n, e, gsm_count, lte_count, nr_dss_count, nr_nsa_sa_count, nr_count, lte_operators, nr_operators";
/// The value columns of a version, after its key and dates.
const STAGE_COLUMNS_NO_KEY: &str = "gsm_count, lte_count, nr_dss_count, nr_nsa_sa_count, nr_count, lte_operators, nr_operators";

/// Put release `date` (its row in `coverage_release` already written) with
/// cells `new` among the versions, where `base` is what is in force at
/// `date` now (the release of that date as stored, or the one before) and
/// `next` the first release after it. Returns how the versions were
/// written: `"changes"` (closed and opened per changed cell) or
/// `"rewrite"` (a new table).
///
/// `alone` says that no release but `date`'s exists: the versions are then
/// exactly this release's cells, and when many change (a first release, a
/// whole file replacing the only one) they are written as a new table
/// ([`load_alone`]) instead of closed and opened row by row.
#[tracing::instrument(skip(tx, base, new), fields(base = base.len(), new = new.len()))]
pub(super) async fn insert(tx: &Transaction<'_>, date: NaiveDate, next: Option<NaiveDate>, base: &[Row], new: &[Row], alone: bool) -> Result<&'static str> {
    let t0 = std::time::Instant::now();
    if alone && next.is_none() && coverage::worth_rewriting(base, new) {
        load_alone(tx, date, new).await?;
        return Ok("rewrite");
    }
    tx.batch_execute(include_str!("../../sql/release_stage.sql")).await.map_err(Error::pg("creating the release staging tables"))?;
    let (mut stage, mut gone) = (CopyBuf::new(), CopyBuf::new());
    coverage::changes(base, new, |c| match c {
        Ok(r) => coverage::encode(&mut stage, r),
        Err(r) => {
            let (n, e) = coverage::key(r);
            gone.row(2);
            gone.i32(n);
            gone.i32(e);
        }
    });
    stage.send(tx, &format!("COPY release_stage ({STAGE_COLUMNS}) FROM STDIN (FORMAT binary)"), "staging the release's changed cells").await?;
    gone.send(tx, "COPY release_gone (n, e) FROM STDIN (FORMAT binary)", "staging the release's removed cells").await?;
    tx.batch_execute("ANALYZE release_stage; ANALYZE release_gone").await.map_err(Error::pg("analysing the release staging tables"))?;
    let staged_ms = t0.elapsed().as_secs_f64() * 1e3;
    // The staged cells are a fraction of the versions: each is found
    // through the primary key (n, e, valid_from). Left to itself the
    // planner merge-joins them against a scan of the whole key instead
    // (NRW, a quarter of 570,000 changed cells: 12.9 s for the close
    // alone, every version visited); for the statements below only, and
    // undone before the transaction goes on.
    tx.batch_execute("SET LOCAL enable_mergejoin = off; SET LOCAL enable_hashjoin = off")
        .await
        .map_err(Error::pg("steering the version updates to the primary key"))?;
    let reopened = match next {
        Some(_) => tx.execute(include_str!("../../sql/release_reopen.sql"), &[&date, &next]).await.map_err(Error::pg("re-opening versions at the next release"))?,
        None => 0,
    };
    let closed = tx.execute(include_str!("../../sql/release_close.sql"), &[&date]).await.map_err(Error::pg("closing the versions the release changes"))?;
    let unstarted = tx.execute(include_str!("../../sql/release_unstart.sql"), &[&date, &next]).await.map_err(Error::pg("deleting the re-stated release's versions"))?;
    let restarted = match next {
        Some(_) => tx.execute(include_str!("../../sql/release_restart.sql"), &[&date, &next]).await.map_err(Error::pg("moving the re-stated release's versions to the next release"))?,
        None => 0,
    };
    tx.batch_execute("SET LOCAL enable_mergejoin TO DEFAULT; SET LOCAL enable_hashjoin TO DEFAULT").await.map_err(Error::pg("resetting the planner settings"))?;
    let opened = tx.execute(include_str!("../../sql/release_open.sql"), &[&date, &next]).await.map_err(Error::pg("adding the release's versions"))?;
    tracing::debug!(staged_ms, ms = t0.elapsed().as_secs_f64() * 1e3, reopened, closed, unstarted, restarted, opened, "release versions written");
    Ok("changes")
}

/// The versions as release `date` alone (no other release exists): one
/// open version per cell of `new`, loaded into a new table by binary COPY
/// and swapped in for the old one ([`Replace`]). At NRW scale (3.4 M cells)
/// an `INSERT … SELECT` from staging into the indexed table, which may
/// still hold the dead rows of a dropped release, took ~30 s; a COPY into a
/// table without indexes and one sorted build of each index take a fraction
/// of that, and readers keep reading the old table until the swap.
#[tracing::instrument(skip(tx, new), fields(new = new.len()))]
async fn load_alone(tx: &Transaction<'_>, date: NaiveDate, new: &[Row]) -> Result<()> {
    let t0 = std::time::Instant::now();
    let replace = Replace::begin(tx, "reported_coverage_version").await?;
    let mut copy = CopyIn::start(tx, &replace.copy_sql(&format!("n, e, valid_from, valid_to, {STAGE_COLUMNS_NO_KEY}")), "writing the release's versions").await?;
    let mut buf = CopyBuf::new();
    for r in new {
        coverage::encode_version(&mut buf, r, date, None);
        if buf.has_full_chunks() {
            copy.flush(&mut buf).await?;
        }
    }
    let rows = copy.finish(buf).await?;
    let copy_ms = t0.elapsed().as_secs_f64() * 1e3;
    replace.finish(tx).await?;
    tracing::debug!(rows, copy_ms, ms = t0.elapsed().as_secs_f64() * 1e3, "release versions loaded as a new table");
    Ok(())
}

/// Delete the row of release `date`, which no version may refer to any
/// more (migration V70 keeps this without foreign keys): anything else is
/// a broken drop, and the caller's transaction rolls back.
pub(super) async fn delete_release(tx: &Transaction<'_>, date: NaiveDate) -> Result<()> {
    let n = tx.execute(include_str!("../../sql/release_delete.sql"), &[&date]).await.map_err(Error::pg("deleting a release"))?;
    if n != 1 {
        return Err(Error::Usage(format!("release {date} could not be deleted: versions still refer to it (nothing was changed)")));
    }
    Ok(())
}

/// Take release `date` out of the versions (its row in `coverage_release`
/// stays for the caller to delete or replace); `next` is the first release
/// after it.
#[tracing::instrument(skip(tx))]
pub(super) async fn drop(tx: &Transaction<'_>, date: NaiveDate, next: Option<NaiveDate>) -> Result<()> {
    let extended = tx.execute(include_str!("../../sql/release_drop_extend.sql"), &[&date, &next]).await.map_err(Error::pg("extending the versions that ended at the dropped release"))?;
    let deleted = tx.execute(include_str!("../../sql/release_drop_delete.sql"), &[&date, &next]).await.map_err(Error::pg("deleting the dropped release's versions"))?;
    let moved = tx.execute(include_str!("../../sql/release_drop_move.sql"), &[&date, &next]).await.map_err(Error::pg("moving the dropped release's versions to the next release"))?;
    tracing::debug!(extended, deleted, moved, "release taken out of the versions");
    Ok(())
}
