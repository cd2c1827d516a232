//! Reading the grid, the model and the sites from PostgreSQL.
//!
//! The three big tables come in one streaming read each, concurrently on
//! separate connections, as binary COPY parsed straight from the wire
//! buffers: no `Row` objects, no per-row allocation.

use std::collections::HashMap;

use chrono::NaiveDate;
use futures_util::StreamExt;
use funkplan_db::{Db, Error as DbError};
use tokio_postgres::{Client, IsolationLevel, Transaction};

use funkplan_model::{MeasureKind, SiteStatus, Technology};

use crate::grid::{Grid, GridInput, Mask, CONTEXT, MAX_BIT, TECHNOLOGIES, UNKNOWN};
use crate::model::{Model, Site};
use crate::releases::{CellValue, Version};
use crate::row::col;
use crate::snapshot::{GridFrom, Outcome, SnapshotKey};
use crate::{Error, Result};

/// Stream a binary COPY, calling `on_row` with each tuple's fields (`None`
/// = NULL).
async fn copy_binary<F>(tx: &Transaction<'_>, sql: &str, what: &'static str, mut on_row: F) -> Result<u64>
where
    F: FnMut(&[Option<&[u8]>]) -> Result<()>,
{
    let stream = tx.copy_out(sql).await.map_err(DbError::pg(what))?;
    futures_util::pin_mut!(stream);
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
    let mut pos = 0usize;
    let mut header = false;
    let mut rows = 0u64;
    let mut fields: Vec<Option<(usize, usize)>> = Vec::with_capacity(8);
    let bad = |why: &str| Error::Data(format!("while {what}: malformed binary COPY data ({why})"));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(DbError::pg(what))?;
        if pos > 0 && pos == buf.len() {
            buf.clear();
            pos = 0;
        } else if pos > (1 << 16) {
            buf.drain(..pos);
            pos = 0;
        }
        buf.extend_from_slice(&chunk);
        if !header {
            if buf.len() < 19 {
                continue;
            }
            if &buf[..11] != b"PGCOPY\n\xff\r\n\0" {
                return Err(bad("signature"));
            }
            let ext = u32::from_be_bytes([buf[15], buf[16], buf[17], buf[18]]) as usize;
            if buf.len() < 19 + ext {
                continue;
            }
            pos = 19 + ext;
            header = true;
        }
        loop {
            if buf.len() < pos + 2 {
                break;
            }
            let nf = i16::from_be_bytes([buf[pos], buf[pos + 1]]);
            if nf < 0 {
                pos = buf.len();
                break;
            }
            let mut p = pos + 2;
            fields.clear();
            let mut complete = true;
            for _ in 0..nf {
                if buf.len() < p + 4 {
                    complete = false;
                    break;
                }
                let len = i32::from_be_bytes([buf[p], buf[p + 1], buf[p + 2], buf[p + 3]]);
                p += 4;
                if len < 0 {
                    fields.push(None);
                } else {
                    let len = usize::try_from(len).map_err(|_| bad("length"))?;
                    if buf.len() < p + len {
                        complete = false;
                        break;
                    }
                    fields.push(Some((p, len)));
                    p += len;
                }
            }
            if !complete {
                break;
            }
            let mut slices: [Option<&[u8]>; 8] = [None; 8];
            if fields.len() > slices.len() {
                return Err(bad("too many columns"));
            }
            for (s, f) in slices.iter_mut().zip(&fields) {
                *s = f.map(|(a, l)| &buf[a..a + l]);
            }
            on_row(&slices[..fields.len()])?;
            rows += 1;
            pos = p;
        }
    }
    Ok(rows)
}

fn int4(f: Option<&[u8]>) -> Option<i32> {
    f.and_then(|b| b.try_into().ok()).map(i32::from_be_bytes)
}
fn int2(f: Option<&[u8]>) -> Option<i16> {
    f.and_then(|b| b.try_into().ok()).map(i16::from_be_bytes)
}
/// A binary `date`: days since 2000-01-01.
fn date(f: Option<&[u8]>) -> Option<NaiveDate> {
    let days = int4(f)?;
    NaiveDate::from_ymd_opt(2000, 1, 1)?.checked_add_signed(chrono::Duration::days(i64::from(days)))
}
fn float4(f: Option<&[u8]>) -> Option<f32> {
    f.and_then(|b| b.try_into().ok()).map(f32::from_be_bytes)
}

fn mask(v: Option<i32>, what: &str) -> Result<Mask> {
    match v {
        None => Ok(UNKNOWN),
        Some(m) if (0..(1 << (MAX_BIT + 1))).contains(&m) => Mask::try_from(m).map_err(|_| Error::Data(format!("{what} {m}"))),
        Some(m) => Err(Error::Data(format!(
            "reported_coverage.{what} = {m} uses operator bits above {MAX_BIT}; the engine supports operator bits 0..={MAX_BIT}"
        ))),
    }
}

fn count(v: Option<i16>) -> u8 {
    u8::try_from(v.unwrap_or(0).max(0)).unwrap_or(u8::MAX)
}

/// An AGS as sent by PostgreSQL for `char(8)`: its 8 bytes.
fn ags_key(b: &[u8]) -> Option<[u8; 8]> {
    b.try_into().ok()
}

/// Join a spawned load task, passing on its error or panic.
async fn joined<T>(h: tokio::task::JoinHandle<Result<T>>) -> Result<T> {
    match h.await {
        Ok(r) => r,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(Error::Data(format!("grid load task cancelled: {e}"))),
    }
}

/// An AGS prefix selecting the municipalities the engine loads: `05` is
/// North Rhine-Westphalia, `09` Bavaria, `05111000` one city; empty = every
/// municipality in the database (all of Germany when it holds Germany).
/// Digits only, at most 8: it is written into COPY statements, which take
/// no parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgsPrefix(String);

impl AgsPrefix {
    /// Every municipality.
    #[must_use]
    pub fn all() -> Self {
        Self(String::new())
    }

    /// The prefix as given (`""` for all).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The AGS range it selects, inclusive (AGS are 8 digits).
    fn range(&self) -> (String, String) {
        let pad = 8 - self.0.len();
        (format!("{}{}", self.0, "0".repeat(pad)), format!("{}{}", self.0, "9".repeat(pad)))
    }
}

impl std::str::FromStr for AgsPrefix {
    type Err = Error;
    /// `all` (or empty) = every municipality; otherwise 1–8 leading AGS digits.
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.is_empty() || s.eq_ignore_ascii_case("all") || s.eq_ignore_ascii_case("de") {
            return Ok(Self::all());
        }
        if s.len() <= 8 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::Data(format!("state {s:?}: expected leading AGS digits such as 05 (North Rhine-Westphalia) or `all`")))
        }
    }
}

impl std::fmt::Display for AgsPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "all" } else { &self.0 })
    }
}

/// How far around a state's municipalities the grid reaches into the
/// neighbouring states, in cells (10 km): their cells there are context
/// ([`crate::grid::CONTEXT`]), so that a site near the border is urban or
/// rural by the same households as in a grid of all states. Exact as long
/// as the largest coverage radius plus the urban density radius stays
/// within it (seeded: 4 km + 1 km); [`crate::Live::load_with`] warns
/// otherwise.
pub const CONTEXT_MARGIN_CELLS: i32 = 100;

/// How [`grid_with`] loads: which municipalities, and whether through a
/// snapshot file ([`crate::snapshot`]).
#[derive(Debug, Clone, Default)]
pub struct GridOptions {
    /// The municipalities to load.
    pub scope: AgsPrefix,
    /// The directory of the grid snapshots; `None`: always read the
    /// database and write no snapshot.
    pub snapshot_dir: Option<std::path::PathBuf>,
}

/// The cells (hectometre indices, inclusive) around a scope's
/// municipalities: rows of the other tables outside it belong to other
/// states and are not sent.
#[derive(Debug, Clone, Copy)]
struct CellBox {
    n0: i32,
    n1: i32,
    e0: i32,
    e1: i32,
}

/// `all` for the whole database, else `scoped` with the scope's AGS range
/// and box filled in (validated digits and integers only).
fn copy_sql(all: &str, scoped: &str, scope: &AgsPrefix, within: Option<&CellBox>) -> String {
    let Some(b) = within else { return all.to_owned() };
    let (lo, hi) = scope.range();
    scoped
        .replace("{ags_lo}", &lo)
        .replace("{ags_hi}", &hi)
        .replace("{n0}", &b.n0.to_string())
        .replace("{n1}", &b.n1.to_string())
        .replace("{e0}", &b.e0.to_string())
        .replace("{e1}", &b.e1.to_string())
}

/// A read-only transaction on `c` in the REPEATABLE READ snapshot
/// `snapshot` (exported by the first of the load's connections), so that
/// the three streams and the generation counters see one moment.
async fn snapshot_tx<'a>(c: &'a mut Client, snapshot: &str) -> Result<Transaction<'a>> {
    const WHAT: &str = "joining the grid load's snapshot";
    let tx = c.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true).start().await.map_err(DbError::pg(WHAT))?;
    // The id comes from pg_export_snapshot() (hex digits and dashes).
    if !snapshot.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return Err(Error::Data(format!("unexpected snapshot id {snapshot:?}")));
    }
    tx.batch_execute(&format!("SET TRANSACTION SNAPSHOT '{snapshot}'")).await.map_err(DbError::pg(WHAT))?;
    Ok(tx)
}

/// What the first connection found in its snapshot, before any stream.
struct Begun {
    snapshot: String,
    /// The snapshot key (`None`: snapshots off) and why it cannot be
    /// trusted, if so.
    key: Option<(SnapshotKey, Option<String>)>,
    /// The box of a scope that is not the whole database.
    within: Option<CellBox>,
}

/// Load the dense grid of every municipality, from the database.
pub async fn grid(db: &Db) -> Result<Grid> {
    Ok(grid_with(db, &GridOptions::default()).await?.0)
}

/// Load the dense grid (municipalities of the scope, cells, households and
/// reported coverage with its releases): from the snapshot file when one
/// was built from exactly the database's current state, else from the
/// database (and then, when snapshots are on, write the snapshot).
///
/// Why one spawned task per table: the three COPY streams are bound by
/// PostgreSQL's per-row output and by the client's per-message parsing;
/// on separate tasks the parsing runs on every core of the runtime (on one
/// task, `try_join!` polled all three from one thread). Their transactions
/// share one exported REPEATABLE READ snapshot, in which the generation
/// counters are read too: the key written with a snapshot file is exactly
/// the state its grid was read from.
#[tracing::instrument(skip_all, fields(scope = %opts.scope))]
pub async fn grid_with(db: &Db, opts: &GridOptions) -> Result<(Grid, GridFrom)> {
    let t0 = std::time::Instant::now();
    let (mut c1, mut c2, mut c3) = tokio::try_join!(db.conn(), db.conn(), db.conn())?;
    let (begun_tx, begun_rx) = tokio::sync::oneshot::channel::<Begun>();
    let (go_tx, go_rx) = tokio::sync::oneshot::channel::<bool>();
    // The other two connections say when they have joined the snapshot;
    // the first keeps its transaction (and so the exported snapshot) open
    // until then.
    let (joined_tx, mut joined_rx) = tokio::sync::mpsc::channel::<()>(2);
    let scope = opts.scope.clone();
    let want_key = opts.snapshot_dir.is_some();
    let cells = tokio::spawn(async move {
        const WHAT: &str = "starting the grid load";
        let client: &mut Client = &mut c1;
        let tx = client.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true).start().await.map_err(DbError::pg(WHAT))?;
        let snapshot: String = col(&tx.query_one("SELECT pg_export_snapshot() AS id", &[]).await.map_err(DbError::pg(WHAT))?, "id", WHAT)?;
        let key = if want_key { Some(crate::snapshot::key(&tx, scope.as_str()).await?) } else { None };
        let (lo, hi) = scope.range();
        let r = tx.query_one(include_str!("../sql/grid_scope.sql"), &[&lo, &hi, &CONTEXT_MARGIN_CELLS]).await.map_err(DbError::pg("reading the state's extent"))?;
        let whole: bool = col(&r, "whole", WHAT)?;
        let within = if whole {
            None
        } else {
            let get = |c: &str| col::<Option<i32>>(&r, c, WHAT);
            // No municipality in the scope: an empty box.
            Some(match (get("n0")?, get("n1")?, get("e0")?, get("e1")?) {
                (Some(n0), Some(n1), Some(e0), Some(e1)) => CellBox { n0, n1, e0, e1 },
                _ => CellBox { n0: 0, n1: -1, e0: 0, e1: -1 },
            })
        };
        let ags: Vec<String> = tx
            .query(include_str!("../sql/municipalities.sql"), &[&lo, &hi])
            .await
            .map_err(DbError::pg("reading municipalities"))?
            .iter()
            .map(|r| col(r, "ags", "reading municipalities"))
            .collect::<Result<_>>()?;
        if ags.is_empty() && !whole {
            return Err(Error::Data(format!(
                "state {scope}: no municipality with an AGS from {lo} to {hi} in the database (`all` loads every municipality)"
            )));
        }
        if begun_tx.send(Begun { snapshot, key, within }).is_err() || !go_rx.await.unwrap_or(false) {
            return Ok(None);
        }
        let by_key: HashMap<[u8; 8], u16> = ags
            .iter()
            .enumerate()
            .filter_map(|(i, a)| Some((ags_key(a.as_bytes())?, u16::try_from(i).ok()?)))
            .collect();
        let t = std::time::Instant::now();
        let mut out = Vec::with_capacity(3_600_000);
        let mut unknown = 0u64;
        let mut last = ([0u8; 8], u16::MAX);
        let sql = copy_sql(include_str!("../sql/copy_grid_cells.sql"), include_str!("../sql/copy_grid_cells_scoped.sql"), &scope, within.as_ref());
        copy_binary(&tx, &sql, "reading grid_cell", |f| {
            let (Some(n), Some(e), Some(a)) = (int4(f[0]), int4(f[1]), f[2].and_then(ags_key)) else {
                return Err(Error::Data("grid_cell row with NULL".into()));
            };
            let m = if a == last.0 && last.1 != u16::MAX {
                Some(last.1)
            } else {
                by_key.get(&a).copied().inspect(|&m| last = (a, m))
            };
            match m {
                Some(m) => out.push((n, e, m)),
                // Another state's cell near the border.
                None if within.is_some() => out.push((n, e, CONTEXT)),
                None => unknown += 1,
            }
            Ok(())
        })
        .await?;
        if unknown > 0 {
            tracing::warn!(cells = unknown, "grid cells of unknown municipalities ignored");
        }
        tracing::debug!(rows = out.len(), ms = t.elapsed().as_secs_f64() * 1e3, "grid_cell read");
        for _ in 0..2 {
            if joined_rx.recv().await.is_none() {
                break;
            }
        }
        tx.commit().await.map_err(DbError::pg("ending the grid load"))?;
        Ok::<_, Error>(Some((ags, out)))
    });
    let Ok(Begun { snapshot, key, within }) = begun_rx.await else {
        // The task ended before its snapshot was ready: its error.
        joined(cells).await?;
        return Err(Error::Data("grid load ended before it began".into()));
    };
    let key = match (&opts.snapshot_dir, key) {
        (Some(dir), Some((key, None))) => Some((dir, key)),
        (Some(dir), Some((key, Some(why)))) => {
            tracing::warn!(reason = %why, "grid snapshot not used: the database's changes cannot be tracked");
            crate::cpu(|| crate::snapshot::remove(dir, &key));
            None
        }
        _ => None,
    };
    if let Some((dir, key)) = &key {
        let t = std::time::Instant::now();
        match crate::cpu(|| crate::snapshot::read(dir, key)) {
            Outcome::Used(grid) => {
                let _ = go_tx.send(false);
                joined(cells).await?;
                tracing::info!(
                    ms = t.elapsed().as_secs_f64() * 1e3,
                    total_ms = t0.elapsed().as_secs_f64() * 1e3,
                    cells = grid.cells,
                    "grid read from its snapshot"
                );
                return Ok((*grid, GridFrom::Snapshot));
            }
            Outcome::Missing => tracing::info!(dir = %dir.display(), "no grid snapshot yet: reading the database"),
            Outcome::Stale(why) => tracing::info!(reason = %why, "grid snapshot out of date: reading the database"),
            Outcome::Corrupt(why) => tracing::warn!(reason = %why, "grid snapshot unreadable: ignored, reading the database and writing it again"),
        }
    }
    if go_tx.send(true).is_err() {
        joined(cells).await?;
        return Err(Error::Data("grid load ended before it began".into()));
    }
    let scope = opts.scope.clone();
    let (joined2, joined3) = (joined_tx.clone(), joined_tx);
    let snap2 = snapshot.clone();
    let households = tokio::spawn(async move {
        let tx = snapshot_tx(&mut c2, &snap2).await?;
        let _ = joined2.send(()).await;
        drop(joined2);
        let t = std::time::Instant::now();
        let mut out = Vec::with_capacity(3_600_000);
        let sql = copy_sql(include_str!("../sql/copy_households.sql"), include_str!("../sql/copy_households_scoped.sql"), &scope, within.as_ref());
        copy_binary(&tx, &sql, "reading household_cell", |f| {
            if let (Some(n), Some(e), Some(h)) = (int4(f[0]), int4(f[1]), float4(f[2])) {
                out.push((n, e, h));
            }
            Ok(())
        })
        .await?;
        tx.commit().await.map_err(DbError::pg("ending the grid load"))?;
        tracing::debug!(rows = out.len(), ms = t.elapsed().as_secs_f64() * 1e3, "household_cell read");
        Ok::<_, Error>(out)
    });
    let scope = opts.scope.clone();
    let reported = tokio::spawn(async move {
        let tx = snapshot_tx(&mut c3, &snapshot).await?;
        let _ = joined3.send(()).await;
        drop(joined3);
        let t = std::time::Instant::now();
        let mut out = Vec::new();
        let sql = copy_sql(include_str!("../sql/copy_reported.sql"), include_str!("../sql/copy_reported_scoped.sql"), &scope, within.as_ref());
        copy_binary(&tx, &sql, "reading reported_coverage", |f| {
            if let (Some(n), Some(e)) = (int4(f[0]), int4(f[1])) {
                out.push((
                    n,
                    e,
                    count(int2(f[2])),
                    count(int2(f[3])),
                    mask(int4(f[4]), "lte_operators")?,
                    mask(int4(f[5]), "nr_operators")?,
                ));
            }
            Ok(())
        })
        .await?;
        tracing::debug!(rows = out.len(), ms = t.elapsed().as_secs_f64() * 1e3, "reported_coverage read");
        // The releases after the latest layer, on the same connection: their
        // versions are the changes between releases, a fraction of a layer.
        // (A state's rows are not the release's count of cells: no check.)
        let rows = within.is_none().then_some(out.len());
        let (dates, versions) = releases(&tx, rows, within.as_ref()).await?;
        tx.commit().await.map_err(DbError::pg("ending the grid load"))?;
        Ok::<_, Error>((out, dates, versions))
    });
    let (cells, households, (reported, release_dates, versions)) =
        tokio::try_join!(joined(cells), joined(households), joined(reported))?;
    let Some((ags, cells)) = cells else {
        return Err(Error::Data("grid load stopped before reading the cells".into()));
    };
    let t_read = t0.elapsed().as_secs_f64() * 1e3;
    let mut grid = crate::cpu(|| Grid::build(GridInput { ags, cells, households, reported, release_dates, versions }))?;
    grid.scope = within.map(|_| opts.scope.as_str().to_owned());
    tracing::debug!(read_ms = t_read, build_ms = t0.elapsed().as_secs_f64() * 1e3 - t_read, "grid built");
    if let Some((dir, key)) = &key {
        let t = std::time::Instant::now();
        match crate::cpu(|| crate::snapshot::write(dir, key, &grid)) {
            Ok((path, bytes)) => tracing::info!(
                path = %path.display(),
                mb = bytes as f64 / 1e6,
                ms = t.elapsed().as_secs_f64() * 1e3,
                "grid snapshot written"
            ),
            Err(e) => tracing::warn!(dir = %dir.display(), error = %e, "grid snapshot not written: the next start reads the database again"),
        }
    }
    Ok((grid, GridFrom::Database))
}

/// The release dates and the versions that tell older releases apart
/// from the latest (see [`crate::releases`]).
#[tracing::instrument(skip_all)]
async fn releases(c: &Transaction<'_>, reported_rows: Option<usize>, within: Option<&CellBox>) -> Result<(Vec<NaiveDate>, Vec<Version>)> {
    const WHAT: &str = "reading coverage releases";
    let t = std::time::Instant::now();
    let rows = c.query(include_str!("../sql/release_dates.sql"), &[]).await.map_err(DbError::pg(WHAT))?;
    let dates: Vec<NaiveDate> = rows.iter().map(|r| col(r, "as_of", WHAT)).collect::<Result<_>>()?;
    if let Some(last) = rows.last() {
        // The ingest keeps reported_coverage equal to the latest release; if
        // it is not, "now" and the dated figures disagree: say so loudly.
        let cells: i64 = col(last, "cells", WHAT)?;
        if reported_rows.is_some_and(|r| usize::try_from(cells).ok() != Some(r)) {
            tracing::warn!(
                latest_release = %dates[dates.len() - 1],
                release_cells = cells,
                reported_rows = reported_rows.unwrap_or_default(),
                "reported_coverage does not hold the latest coverage release; figures for past dates may disagree with now"
            );
        }
    }
    let mut versions = Vec::new();
    if dates.len() > 1 {
        let sql = copy_sql(include_str!("../sql/copy_versions.sql"), include_str!("../sql/copy_versions_scoped.sql"), &AgsPrefix::all(), within);
        copy_binary(c, &sql, "reading reported_coverage_version", |f| {
            let (Some(n), Some(e), Some(valid_from)) = (int4(f[0]), int4(f[1]), date(f[2])) else {
                return Err(Error::Data("reported_coverage_version row with NULL key".into()));
            };
            versions.push(Version {
                n,
                e,
                valid_from,
                valid_to: date(f[3]),
                value: CellValue {
                    count: [count(int2(f[4])), count(int2(f[5]))],
                    mask: [mask(int4(f[6]), "lte_operators")?, mask(int4(f[7]), "nr_operators")?],
                },
            });
            Ok(())
        })
        .await?;
    }
    tracing::debug!(releases = dates.len(), versions = versions.len(), ms = t.elapsed().as_secs_f64() * 1e3, "releases read");
    Ok((dates, versions))
}

/// A word read from the database as a domain type; a word the type does
/// not know is a data error.
fn word<T: std::str::FromStr<Err = funkplan_model::ParseError>>(s: &str, what: &str) -> Result<T> {
    s.parse().map_err(|e| Error::Data(format!("{what}: {e}")))
}

/// The model parameters.
pub async fn model(client: &Client) -> Result<Model> {
    const WHAT: &str = "reading the coverage model";
    let r = client.query_one(include_str!("../sql/model.sql"), &[]).await.map_err(DbError::pg(WHAT))?;
    let get = |column: &str, what: &str| -> Result<f64> {
        col::<Option<f64>>(&r, column, WHAT)?
            .ok_or_else(|| Error::Data(format!("coverage model parameter {what} is missing; run `funkplan seed`")))
    };
    Ok(Model {
        radius_m: [
            [get("lte_rural", "lte/rural")?, get("lte_urban", "lte/urban")?],
            [get("nr_rural", "5g/rural")?, get("nr_urban", "5g/urban")?],
        ],
        urban_households_per_km2: get("urban_households_per_km2", "urban_households_per_km2")?,
        urban_density_radius_m: get("urban_density_radius_m", "urban_density_radius_m")?,
    })
}

/// Operators as `(bit, id)`.
pub async fn operators(client: &Client) -> Result<Vec<(u8, String)>> {
    const WHAT: &str = "reading operators";
    let rows = client.query(include_str!("../sql/operators.sql"), &[]).await.map_err(DbError::pg(WHAT))?;
    rows.iter()
        .map(|r| {
            let bit: i16 = col(r, "bit", WHAT)?;
            let id: String = col(r, "id", WHAT)?;
            u8::try_from(bit)
                .ok()
                .filter(|&b| b <= MAX_BIT)
                .map(|b| (b, id.clone()))
                .ok_or_else(|| Error::Data(format!("operator {id} has bit {bit}; the engine supports bits 0..={MAX_BIT}")))
        })
        .collect()
}

/// Sites (all, or those in `ids`), urban flag not yet set.
pub async fn sites(client: &Client, ids: Option<&[String]>) -> Result<Vec<Site>> {
    const WHAT: &str = "reading sites";
    let ids: Option<Vec<String>> = ids.map(<[String]>::to_vec);
    let rows = client.query(include_str!("../sql/sites.sql"), &[&ids]).await.map_err(DbError::pg(WHAT))?;
    rows.iter().map(site).collect()
}

/// One row of `sql/sites.sql` as the engine's [`Site`], its words parsed
/// into the domain types.
fn site(r: &tokio_postgres::Row) -> Result<Site> {
    const WHAT: &str = "reading sites";
    let status: SiteStatus = word(col(r, "status", WHAT)?, "site status")?;
    let techs: Vec<Technology> =
        col::<Vec<&str>>(r, "technologies", WHAT)?.into_iter().map(|t| word(t, "site technology")).collect::<Result<_>>()?;
    let open: Vec<MeasureKind> =
        col::<Vec<&str>>(r, "open_kinds", WHAT)?.into_iter().map(|k| word(k, "measure kind")).collect::<Result<_>>()?;
    let on_air_date: Option<NaiveDate> = col(r, "on_air_date", WHAT)?;
    let lte_done: Option<NaiveDate> = col(r, "lte_done", WHAT)?;
    let nr_done: Option<NaiveDate> = col(r, "nr_done", WHAT)?;
    // Per technology in engine order (TECHNOLOGIES): listed on the site,
    // and added by an open measure.
    let has = TECHNOLOGIES.map(|t| techs.contains(&t));
    let opens = TECHNOLOGIES.map(|t| open.iter().any(|k| k.technology() == t));
    let on = status == SiteStatus::OnAir;
    let on_air = has.map(|h| on && h);
    // As the measure-completion trigger does: completing an open
    // measure adds its technology and puts a not-yet-built site on
    // air with what it lists; decommissioned sites stay off.
    let scenario = if status == SiteStatus::Decommissioned {
        [false, false]
    } else if opens.contains(&true) {
        [has[0] || opens[0], has[1] || opens[1]]
    } else {
        on_air
    };
    let lte_since = match (on_air_date, lte_done) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let bit: i32 = col(r, "bit", WHAT)?;
    Ok(Site {
        id: col(r, "site_id", WHAT)?,
        bit: u8::try_from(bit).unwrap_or(0),
        x: col(r, "x", WHAT)?,
        y: col(r, "y", WHAT)?,
        on_air,
        scenario,
        since: [lte_since, nr_done.or(on_air_date)],
        urban: false,
    })
}
