//! Coverage releases (issue 16): the regulator publishes its coverage as
//! dated releases, and each ingest of a coverage file stores one.
//!
//! A release's cells are kept as versions (`reported_coverage_version`,
//! migration V50): a cell's values from the release where they appeared
//! until the next release that differs, so many releases take the space of
//! one plus what changed. `reported_coverage` always holds the cells of the
//! latest release (every "now" reader keeps working); an ingest or drop
//! that changes the latest release rewrites it through the coverage
//! ingest's write paths, and one of an older release leaves it alone.
//!
//! - [`date`]: the release date of a file (`--as-of`, the name's `YYYYMM`);
//! - `versions`: inserting, re-stating and dropping a release among the
//!   versions;
//! - `ingest`: `ingest coverage FILE…` as releases, one transaction
//!   ([`ingest_files`]);
//! - `drop`: `releases drop DATE` ([`drop_release`]).

pub mod date;
mod drop;
mod ingest;
mod versions;

use chrono::NaiveDate;
use tokio_postgres::GenericClient;

pub use date::DateError;
pub use drop::{drop_release, DropOptions};
pub use ingest::ingest_files;

use crate::{Error, Result};

/// One stored release, as `funkplan releases` lists it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Release {
    pub as_of: NaiveDate,
    pub cells: i64,
    /// SHA-256 over the release's rows (equal checksums: equal releases).
    pub checksum: String,
    /// The file(s) it was made from.
    pub source_file: String,
    pub source_sha256: String,
    pub ingest_run_id: Option<i64>,
    pub ingested_at: chrono::DateTime<chrono::Utc>,
}

/// Every release, oldest first.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn list(db: &impl GenericClient) -> Result<Vec<Release>> {
    const W: &str = "reading the coverage releases";
    let rows = db.query(include_str!("../../sql/release_list.sql"), &[]).await.map_err(Error::pg(W))?;
    rows.iter()
        .map(|r| {
            Ok(Release {
                as_of: crate::col(r, "as_of", W)?,
                cells: crate::col(r, "cells", W)?,
                checksum: crate::col(r, "checksum", W)?,
                source_file: crate::col(r, "source_file", W)?,
                source_sha256: crate::col(r, "source_sha256", W)?,
                ingest_run_id: crate::col(r, "ingest_run_id", W)?,
                ingested_at: crate::col(r, "ingested_at", W)?,
            })
        })
        .collect()
}

/// Where a date falls among the releases (`list`, oldest first).
struct Place<'a> {
    /// The release of that very date.
    at: Option<&'a Release>,
    /// The latest release before it.
    prev: Option<&'a Release>,
    /// The first release after it.
    next: Option<&'a Release>,
    /// The latest release of all.
    latest: Option<&'a Release>,
}

impl<'a> Place<'a> {
    fn of(list: &'a [Release], date: NaiveDate) -> Self {
        Self {
            at: list.iter().find(|r| r.as_of == date),
            prev: list.iter().rfind(|r| r.as_of < date),
            next: list.iter().find(|r| r.as_of > date),
            latest: list.last(),
        }
    }

    /// Whether the date is (or, inserted, becomes) the latest release's.
    fn is_latest(&self) -> bool {
        self.next.is_none()
    }
}

/// "2024-01-01, 2024-04-01" or "none", for messages.
fn dates(list: &[Release]) -> String {
    if list.is_empty() {
        return "none".into();
    }
    list.iter().map(|r| r.as_of.to_string()).collect::<Vec<_>>().join(", ")
}
