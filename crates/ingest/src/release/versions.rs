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
use crate::pgcopy::CopyBuf;
use crate::{Error, Result};

const STAGE_COLUMNS: &str = "n, e, gsm_count, lte_count, nr_dss_count, nr_nsa_sa_count, nr_count, lte_operators, nr_operators";

/// Put release `date` (its row in `coverage_release` already written) with
/// cells `new` among the versions, where `base` is what is in force at
/// `date` now (the release of that date as stored, or the one before) and
/// `next` the first release after it.
#[tracing::instrument(skip(tx, base, new), fields(base = base.len(), new = new.len()))]
pub(super) async fn insert(tx: &Transaction<'_>, date: NaiveDate, next: Option<NaiveDate>, base: &[Row], new: &[Row]) -> Result<()> {
    let t0 = std::time::Instant::now();
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
    let opened = tx.execute(include_str!("../../sql/release_open.sql"), &[&date, &next]).await.map_err(Error::pg("adding the release's versions"))?;
    tracing::debug!(staged_ms, ms = t0.elapsed().as_secs_f64() * 1e3, reopened, closed, unstarted, restarted, opened, "release versions written");
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
