//! The grid snapshot (issue 24): the loaded [`Grid`] kept in a local file,
//! so that a cold start reads ~100 MB (NRW) from disk instead of streaming
//! 3.4 M cells, households and reported coverage out of PostgreSQL and
//! building the dense grid again.
//!
//! **Never stale.** The file carries the key it was built from
//! ([`SnapshotKey`]): the generation counter, random token and table OID of
//! every table the grid load reads (V90: statement triggers bump a table's
//! counter at every change, in the changing transaction), the database's
//! identity (cluster system identifier, database OID and name), the state
//! scope and a fingerprint of the code that builds the grid. The loader
//! reads the key in the same REPEATABLE READ snapshot it would stream the
//! tables from ([`crate::load::grid_with`]): a change committed after that
//! snapshot has a newer counter, which the next start sees; a change
//! committed before it is in the key. The file is used only when the whole
//! key is equal, and only while every table's trigger exists and is enabled
//! ALWAYS (a disabled trigger would let changes through uncounted).
//!
//! **Format** (little-endian; version [`FORMAT`]): magic, format version,
//! the key as JSON, the grid's parts (dimensions, AGS, boxes, row spans,
//! per-slot municipality and households, the reported layers, the
//! releases' back steps), then a CRC-32 of everything before it. Written to
//! a temporary file in the same directory, synced and renamed over the old
//! one, so a reader sees the old file or the new one, never a half. A file
//! that is truncated, has a bad checksum or does not parse is ignored with
//! a warning and rebuilt from the database.
//!
//! Why a plain read into the grid's vectors rather than a memory map: the
//! engine owns and mutates nothing of the grid in place, but its vectors
//! are plain `Vec`s used everywhere, `memmap2` is not among the packages
//! available offline, and the workspace forbids `unsafe`; a sequential read
//! from the page cache runs at several GB/s, far below the goal.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use funkplan_db::Error as DbError;
use serde::{Deserialize, Serialize};
use tokio_postgres::Transaction;

use crate::grid::{Grid, ReportedLayer};
use crate::releases::{CellValue, Releases, Step};
use crate::row::col;
use crate::Result;

/// Format version; bump when the layout below changes.
pub const FORMAT: u32 = 1;
const MAGIC: &[u8; 8] = b"FPGRIDv\x01";
/// The tables the grid load reads, each with a generation row and trigger (V90).
pub const TABLES: [&str; 6] = ["coverage_release", "grid_cell", "household_cell", "municipality", "reported_coverage", "reported_coverage_version"];
/// The trigger of V90 on each of [`TABLES`].
const TRIGGER: &str = "grid_generation_bump";

/// The sources whose change changes what a snapshot holds: the grid's
/// layout, its building, the load's SQL and this format. Their checksum is
/// part of the key, so a binary that builds the grid differently never
/// reads a file written by another.
const CODE: [&str; 14] = [
    include_str!("grid.rs"),
    include_str!("releases.rs"),
    include_str!("load.rs"),
    include_str!("snapshot.rs"),
    include_str!("../sql/municipalities.sql"),
    include_str!("../sql/copy_grid_cells.sql"),
    include_str!("../sql/copy_households.sql"),
    include_str!("../sql/copy_reported.sql"),
    include_str!("../sql/copy_versions.sql"),
    include_str!("../sql/grid_scope.sql"),
    include_str!("../sql/copy_grid_cells_scoped.sql"),
    include_str!("../sql/copy_households_scoped.sql"),
    include_str!("../sql/copy_reported_scoped.sql"),
    include_str!("../sql/copy_versions_scoped.sql"),
];

/// One table's state in the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableGeneration {
    /// Table name.
    pub table: String,
    /// Its counter (bumped by every changing statement).
    pub generation: i64,
    /// Drawn afresh at every bump.
    pub token: String,
    /// The table's OID: a table swapped in by an ingest is a new table.
    pub relid: i64,
}

/// What a snapshot was built from; equal keys mean equal grids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotKey {
    /// The cluster's system identifier (`None` where the role may not read it).
    pub system_identifier: Option<String>,
    /// The database's OID and name.
    pub database_oid: i64,
    /// The database's name.
    pub database: String,
    /// The AGS prefix loaded (`""` = every municipality).
    pub scope: String,
    /// CRC-32 of the code that builds the grid ([`CODE`]).
    pub code: u32,
    /// Every table of [`TABLES`], by name.
    pub tables: Vec<TableGeneration>,
}

/// Where the grid came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GridFrom {
    /// Streamed from PostgreSQL and built.
    Database,
    /// Read from a snapshot file whose key matched.
    Snapshot,
}

impl std::fmt::Display for GridFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Database => "database",
            Self::Snapshot => "snapshot",
        })
    }
}

/// The snapshot file of `key` in `dir`: one per database and scope, so that
/// two databases (or states) served from one directory do not overwrite
/// each other's.
#[must_use]
pub fn path(dir: &Path, key: &SnapshotKey) -> PathBuf {
    let db: String = key.database.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect();
    let scope = if key.scope.is_empty() { "all" } else { key.scope.as_str() };
    dir.join(format!("grid-{db}-{scope}.snap"))
}

/// The key of the database's current state, read in `tx` (the snapshot the
/// grid would be streamed from), and why snapshots cannot be trusted for
/// this database, if so (a trigger missing or not enabled ALWAYS, a table
/// without its generation row): then the caller neither reads nor writes
/// one, and removes the file it finds.
pub(crate) async fn key(tx: &Transaction<'_>, scope: &str) -> Result<(SnapshotKey, Option<String>)> {
    const WHAT: &str = "reading the grid's generation counters";
    let id = tx.query_one(include_str!("../sql/grid_identity.sql"), &[]).await.map_err(DbError::pg(WHAT))?;
    let rows = tx.query(include_str!("../sql/grid_generations.sql"), &[&TRIGGER]).await.map_err(DbError::pg(WHAT))?;
    let mut tables = Vec::new();
    let mut untrusted = None;
    for r in &rows {
        let table: String = col(r, "table_name", WHAT)?;
        if !TABLES.contains(&table.as_str()) {
            continue;
        }
        let relid: Option<i64> = col(r, "relid", WHAT)?;
        let enabled: Option<String> = col(r, "enabled", WHAT)?;
        let why = match (relid, enabled.as_deref()) {
            (None, _) => Some(format!("table {table} does not exist")),
            (_, Some("A")) => None,
            (_, None) => Some(format!("table {table} has no trigger {TRIGGER} (V90): its changes would not be counted")),
            (_, Some(e)) => Some(format!(
                "trigger {TRIGGER} on {table} is not ENABLE ALWAYS (tgenabled {e}): changes may have been made uncounted; \
                 once the data is as it should be, run `ALTER TABLE {table} ENABLE ALWAYS TRIGGER {TRIGGER}`"
            )),
        };
        if untrusted.is_none() {
            untrusted = why;
        }
        tables.push(TableGeneration { table, generation: col(r, "generation", WHAT)?, token: col(r, "token", WHAT)?, relid: relid.unwrap_or(0) });
    }
    if tables.len() != TABLES.len() && untrusted.is_none() {
        untrusted = Some(format!("grid_generation lacks rows for some of {}", TABLES.join(", ")));
    }
    let key = SnapshotKey {
        system_identifier: col(&id, "system_identifier", WHAT)?,
        database_oid: col(&id, "database_oid", WHAT)?,
        database: col(&id, "database", WHAT)?,
        scope: scope.to_owned(),
        code: code_checksum(),
        tables,
    };
    Ok((key, untrusted))
}

/// Remove the snapshot of `key`'s database and scope, if any: while the
/// database's changes cannot be tracked, no file may outlive that time.
pub fn remove(dir: &Path, key: &SnapshotKey) {
    let path = path(dir, key);
    match std::fs::remove_file(&path) {
        Ok(()) => tracing::info!(path = %path.display(), "grid snapshot removed"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(path = %path.display(), error = %e, "grid snapshot could not be removed"),
    }
}

fn code_checksum() -> u32 {
    let mut h = crc32fast::Hasher::new();
    for s in CODE {
        h.update(s.as_bytes());
    }
    h.finalize()
}

/// What reading a snapshot found.
#[derive(Debug)]
pub enum Outcome {
    /// The file's key matched; its grid (boxed: the other outcomes are a
    /// word or two).
    Used(Box<Grid>),
    /// No file.
    Missing,
    /// A file for another state of the data (or another database); why.
    Stale(String),
    /// A file that cannot be read as a snapshot; why.
    Corrupt(String),
}

/// Read the snapshot of `key` from `dir`.
#[must_use]
pub fn read(dir: &Path, key: &SnapshotKey) -> Outcome {
    let path = path(dir, key);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Outcome::Missing,
        Err(e) => return Outcome::Corrupt(format!("{}: {e}", path.display())),
    };
    match read_file(file, key) {
        Ok(Some(grid)) => Outcome::Used(Box::new(grid)),
        Ok(None) => Outcome::Stale(format!("{}: built from another state of the data", path.display())),
        Err(e) => Outcome::Corrupt(format!("{}: {e}", path.display())),
    }
}

/// Write `grid` as the snapshot of `key` into `dir` (created if missing):
/// a temporary file, synced, renamed over the old one. Returns the path
/// and the bytes written.
///
/// # Errors
/// I/O errors (the caller logs them: a start without a snapshot is slower,
/// not wrong).
pub fn write(dir: &Path, key: &SnapshotKey, grid: &Grid) -> std::io::Result<(PathBuf, u64)> {
    std::fs::create_dir_all(dir)?;
    let path = path(dir, key);
    let tmp = dir.join(format!(".{}.{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("grid.snap"), std::process::id()));
    let result = (|| {
        let file = File::create(&tmp)?;
        let mut w = Crc { inner: BufWriter::with_capacity(1 << 20, file), h: crc32fast::Hasher::new(), n: 0 };
        write_grid(&mut w, key, grid)?;
        let crc = w.h.finalize();
        let n = w.n + 4;
        let mut inner = w.inner;
        inner.write_all(&crc.to_le_bytes())?;
        let file = inner.into_inner().map_err(std::io::IntoInnerError::into_error)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        Ok(n)
    })();
    match result {
        Ok(n) => {
            sweep(dir, &path);
            Ok((path, n))
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// How long another database's (or state's) snapshot may lie unwritten
/// before a write in the same directory removes it: databases come and go
/// (test databases, a dropped copy), their files would stay for good.
const UNUSED_FOR: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// Remove the snapshots in `dir` other than `keep` not written for
/// [`UNUSED_FOR`], and temporary files of writes that died (a day old).
fn sweep(dir: &Path, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        let age = e.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
        let old = if name.starts_with("grid-") && name.ends_with(".snap") && p != keep {
            age.is_some_and(|a| a > UNUSED_FOR)
        } else if name.starts_with(".grid-") && name.ends_with(".tmp") {
            age.is_some_and(|a| a > std::time::Duration::from_secs(24 * 3600))
        } else {
            false
        };
        if old && std::fs::remove_file(&p).is_ok() {
            tracing::info!(path = %p.display(), "unused grid snapshot removed");
        }
    }
}

/// A writer or reader that keeps the CRC-32 and length of what passed.
struct Crc<T> {
    inner: T,
    h: crc32fast::Hasher,
    n: u64,
}

impl<W: Write> Write for Crc<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let k = self.inner.write(buf)?;
        self.h.update(&buf[..k]);
        self.n += k as u64;
        Ok(k)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Read> Read for Crc<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.h.update(&buf[..k]);
        self.n += k as u64;
        Ok(k)
    }
}

fn put_u32(w: &mut impl Write, v: u32) -> std::io::Result<()> {
    w.write_all(&v.to_le_bytes())
}
fn put_u64(w: &mut impl Write, v: u64) -> std::io::Result<()> {
    w.write_all(&v.to_le_bytes())
}
fn put_len(w: &mut impl Write, v: usize) -> std::io::Result<()> {
    put_u64(w, v as u64)
}

/// Fixed-size values as little-endian bytes, converted a block at a time.
fn put_all<T: Copy, const N: usize>(w: &mut impl Write, items: &[T], le: impl Fn(T) -> [u8; N]) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(N * 8192);
    for chunk in items.chunks(8192) {
        buf.clear();
        for &x in chunk {
            buf.extend_from_slice(&le(x));
        }
        w.write_all(&buf)?;
    }
    Ok(())
}

fn write_grid(w: &mut impl Write, key: &SnapshotKey, g: &Grid) -> std::io::Result<()> {
    w.write_all(MAGIC)?;
    put_u32(w, FORMAT)?;
    let k = serde_json::to_vec(key).map_err(std::io::Error::other)?;
    put_len(w, k.len())?;
    w.write_all(&k)?;
    w.write_all(&g.n0.to_le_bytes())?;
    w.write_all(&g.e0.to_le_bytes())?;
    put_len(w, g.rows)?;
    put_len(w, g.cols)?;
    put_len(w, g.cells)?;
    let scope = g.scope.as_deref().unwrap_or_default();
    w.write_all(&[u8::from(g.scope.is_some())])?;
    put_len(w, scope.len())?;
    w.write_all(scope.as_bytes())?;
    put_len(w, g.ags.len())?;
    for a in &g.ags {
        put_len(w, a.len())?;
        w.write_all(a.as_bytes())?;
    }
    for b in &g.muni_box {
        match b {
            None => w.write_all(&[0])?,
            Some(b) => {
                w.write_all(&[1])?;
                for &x in b {
                    put_len(w, x)?;
                }
            }
        }
    }
    put_len(w, g.row_spans.len())?;
    put_all(w, &g.row_spans, |(a, b)| {
        let mut o = [0u8; 8];
        o[..4].copy_from_slice(&a.to_le_bytes());
        o[4..].copy_from_slice(&b.to_le_bytes());
        o
    })?;
    put_len(w, g.muni.len())?;
    put_all(w, &g.muni, u16::to_le_bytes)?;
    put_len(w, g.households.len())?;
    put_all(w, &g.households, f32::to_le_bytes)?;
    w.write_all(&[u8::from(g.has_reported())])?;
    if g.has_reported() {
        for layer in &g.reported {
            put_len(w, layer.count.len())?;
            w.write_all(&layer.count)?;
            put_len(w, layer.mask.len())?;
            put_all(w, &layer.mask, u16::to_le_bytes)?;
        }
    }
    let (dates, back, undated) = g.releases.parts();
    w.write_all(&[u8::from(undated)])?;
    put_len(w, dates.len())?;
    for d in dates {
        w.write_all(&d.num_days_from_ce().to_le_bytes())?;
    }
    put_len(w, back.len())?;
    for steps in back {
        put_len(w, steps.len())?;
        put_all(w, steps, |s: Step| {
            let mut o = [0u8; 10];
            o[..4].copy_from_slice(&s.slot.to_le_bytes());
            o[4] = s.value.count[0];
            o[5] = s.value.count[1];
            o[6..8].copy_from_slice(&s.value.mask[0].to_le_bytes());
            o[8..].copy_from_slice(&s.value.mask[1].to_le_bytes());
            o
        })?;
    }
    Ok(())
}

/// Why a file is no snapshot: a message naming the part.
type Bad = String;

/// Reads with the remaining file size as a bound on every length, so a
/// corrupt length fails cleanly instead of allocating without end.
struct Src<R> {
    r: Crc<R>,
    left: u64,
}

impl<R: Read> Src<R> {
    fn bytes<const N: usize>(&mut self, what: &str) -> std::result::Result<[u8; N], Bad> {
        let mut b = [0u8; N];
        self.r.read_exact(&mut b).map_err(|e| format!("{what}: {e} (file truncated?)"))?;
        self.left = self.left.saturating_sub(N as u64);
        Ok(b)
    }
    fn u8(&mut self, what: &str) -> std::result::Result<u8, Bad> {
        Ok(self.bytes::<1>(what)?[0])
    }
    fn i32(&mut self, what: &str) -> std::result::Result<i32, Bad> {
        Ok(i32::from_le_bytes(self.bytes(what)?))
    }
    /// A length of items of `size` bytes each, checked against what is left.
    fn len(&mut self, size: u64, what: &str) -> std::result::Result<usize, Bad> {
        let n = u64::from_le_bytes(self.bytes(what)?);
        if n.checked_mul(size).is_none_or(|b| b > self.left) {
            return Err(format!("{what}: length {n} exceeds the file (corrupt or truncated)"));
        }
        usize::try_from(n).map_err(|_| format!("{what}: length {n} too large"))
    }
    fn raw(&mut self, n: usize, what: &str) -> std::result::Result<Vec<u8>, Bad> {
        let mut v = vec![0u8; n];
        self.r.read_exact(&mut v).map_err(|e| format!("{what}: {e} (file truncated?)"))?;
        self.left = self.left.saturating_sub(n as u64);
        Ok(v)
    }
    /// `n` fixed-size items, converted a block at a time.
    fn all<T, const N: usize>(&mut self, n: usize, what: &str, from: impl Fn([u8; N]) -> T) -> std::result::Result<Vec<T>, Bad> {
        let mut out = Vec::with_capacity(n);
        let mut buf = vec![0u8; N * 8192];
        let mut left = n;
        while left > 0 {
            let k = left.min(8192);
            let b = &mut buf[..k * N];
            self.r.read_exact(b).map_err(|e| format!("{what}: {e} (file truncated?)"))?;
            out.extend(b.chunks_exact(N).map(|c| {
                let mut a = [0u8; N];
                a.copy_from_slice(c);
                from(a)
            }));
            left -= k;
        }
        self.left = self.left.saturating_sub((n * N) as u64);
        Ok(out)
    }
}

/// `Ok(None)`: a well-formed header with another key (the body is not read).
fn read_file(file: File, key: &SnapshotKey) -> std::result::Result<Option<Grid>, Bad> {
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    let mut s = Src { r: Crc { inner: BufReader::with_capacity(1 << 20, file), h: crc32fast::Hasher::new(), n: 0 }, left: size };
    if &s.bytes::<8>("magic")? != MAGIC {
        return Err("not a grid snapshot (magic)".into());
    }
    let format = u32::from_le_bytes(s.bytes("format version")?);
    if format != FORMAT {
        return Ok(None);
    }
    let klen = s.len(1, "key")?;
    let stored: SnapshotKey = serde_json::from_slice(&s.raw(klen, "key")?).map_err(|e| format!("key: {e}"))?;
    if stored != *key {
        tracing::debug!(stored = ?stored, current = ?key, "grid snapshot keys differ");
        return Ok(None);
    }
    let n0 = s.i32("n0")?;
    let e0 = s.i32("e0")?;
    let rows = s.len(0, "rows")?;
    let cols = s.len(0, "cols")?;
    let cells = s.len(0, "cells")?;
    let slots = rows.checked_mul(cols).ok_or("rows × cols overflow")?;
    let scoped = s.u8("scope flag")?;
    let l = s.len(1, "scope")?;
    let scope = String::from_utf8(s.raw(l, "scope")?).map_err(|_| "scope: not UTF-8")?;
    let scope = match scoped {
        0 => None,
        1 => Some(scope),
        x => return Err(format!("scope flag {x}")),
    };
    let nags = s.len(9, "municipalities")?;
    let mut ags = Vec::with_capacity(nags);
    for _ in 0..nags {
        let l = s.len(1, "AGS")?;
        ags.push(String::from_utf8(s.raw(l, "AGS")?).map_err(|_| "AGS: not UTF-8")?);
    }
    let mut muni_box = Vec::with_capacity(nags);
    for _ in 0..nags {
        muni_box.push(match s.u8("municipality box")? {
            0 => None,
            1 => Some([s.len(0, "box")?, s.len(0, "box")?, s.len(0, "box")?, s.len(0, "box")?]),
            x => return Err(format!("municipality box: flag {x}")),
        });
    }
    let spans = s.len(8, "row spans")?;
    let row_spans = s.all(spans, "row spans", |b: [u8; 8]| (u32::from_le_bytes([b[0], b[1], b[2], b[3]]), u32::from_le_bytes([b[4], b[5], b[6], b[7]])))?;
    let n = s.len(2, "municipality per slot")?;
    let muni = s.all(n, "municipality per slot", u16::from_le_bytes)?;
    let n = s.len(4, "households per slot")?;
    let households = s.all(n, "households per slot", f32::from_le_bytes)?;
    let mut reported = [ReportedLayer::default(), ReportedLayer::default()];
    match s.u8("reported flag")? {
        0 => {}
        1 => {
            for layer in &mut reported {
                let n = s.len(1, "reported counts")?;
                layer.count = s.raw(n, "reported counts")?;
                let n = s.len(2, "reported masks")?;
                layer.mask = s.all(n, "reported masks", u16::from_le_bytes)?;
                if layer.count.len() != slots || layer.mask.len() != slots {
                    return Err("reported layer: not one value per slot".into());
                }
            }
        }
        x => return Err(format!("reported flag {x}")),
    }
    let undated = match s.u8("releases flag")? {
        0 => false,
        1 => true,
        x => return Err(format!("releases flag {x}")),
    };
    let nd = s.len(4, "release dates")?;
    let mut dates = Vec::with_capacity(nd);
    for _ in 0..nd {
        let d = s.i32("release date")?;
        dates.push(NaiveDate::from_num_days_from_ce_opt(d).ok_or_else(|| format!("release date: day {d}"))?);
    }
    let nb = s.len(8, "release steps")?;
    let mut back = Vec::with_capacity(nb);
    for _ in 0..nb {
        let n = s.len(10, "release steps")?;
        back.push(s.all(n, "release steps", |b: [u8; 10]| Step {
            slot: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            value: CellValue { count: [b[4], b[5]], mask: [u16::from_le_bytes([b[6], b[7]]), u16::from_le_bytes([b[8], b[9]])] },
        })?);
    }
    let computed = s.r.h.clone().finalize();
    let stored_crc = u32::from_le_bytes(s.bytes("checksum")?);
    if computed != stored_crc {
        return Err(format!("checksum {stored_crc:08x} does not match the contents ({computed:08x})"));
    }
    if s.r.inner.read(&mut [0u8; 1]).map_err(|e| e.to_string())? != 0 {
        return Err("bytes after the checksum".into());
    }
    // The parts must fit together, or the engine would index out of bounds.
    if muni.len() != slots || households.len() != slots || row_spans.len() != rows {
        return Err("grid parts do not match its dimensions".into());
    }
    if muni.iter().any(|&m| m != crate::grid::NO_MUNI && usize::from(m) >= nags) {
        return Err("a slot names a municipality the snapshot does not list".into());
    }
    if back.len() != dates.len().saturating_sub(1) || back.iter().flatten().any(|st| st.slot as usize >= slots) {
        return Err("release steps do not match the grid".into());
    }
    if muni_box.iter().flatten().any(|b| b[1] >= rows || b[3] >= cols) || row_spans.iter().any(|&(_, b)| b as usize > cols) {
        return Err("boxes or row spans outside the grid".into());
    }
    Ok(Some(Grid {
        n0,
        e0,
        rows,
        cols,
        muni,
        households,
        reported,
        releases: Releases::from_parts(dates, back, undated),
        ags,
        muni_box,
        cells,
        row_spans,
        scope,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::GridInput;

    fn key() -> SnapshotKey {
        SnapshotKey {
            system_identifier: Some("7".into()),
            database_oid: 1,
            database: "db".into(),
            scope: "05".into(),
            code: code_checksum(),
            tables: TABLES.iter().map(|t| TableGeneration { table: (*t).into(), generation: 1, token: "x".into(), relid: 9 }).collect(),
        }
    }

    fn grid() -> Grid {
        let d = |m| NaiveDate::from_ymd_opt(2024, m, 1).expect("date");
        let mut g = Grid::build(GridInput {
            ags: vec!["05111000".into(), "05112000".into()],
            cells: vec![(10, 10, 0), (10, 11, 0), (12, 13, 1), (11, 10, 1)],
            households: vec![(10, 10, 3.5), (12, 13, 1.25)],
            reported: vec![(10, 10, 2, 1, 3, crate::grid::UNKNOWN), (12, 13, 0, 0, 0, 0)],
            release_dates: vec![d(1), d(4)],
            versions: vec![crate::releases::Version {
                n: 10,
                e: 11,
                valid_from: d(1),
                valid_to: Some(d(4)),
                value: CellValue { count: [1, 0], mask: [1, 0] },
            }],
        })
        .expect("grid");
        g.scope = Some("05".into());
        g
    }

    fn same(a: &Grid, b: &Grid) {
        assert_eq!((a.n0, a.e0, a.rows, a.cols, a.cells), (b.n0, b.e0, b.rows, b.cols, b.cells));
        assert_eq!(a.ags, b.ags);
        assert_eq!(a.muni, b.muni);
        assert_eq!(a.households, b.households);
        assert_eq!(a.muni_box, b.muni_box);
        assert_eq!(a.row_spans, b.row_spans);
        assert_eq!(a.scope, b.scope);
        for t in 0..2 {
            assert_eq!(a.reported[t].count, b.reported[t].count);
            assert_eq!(a.reported[t].mask, b.reported[t].mask);
        }
        assert_eq!(a.releases.parts(), b.releases.parts());
    }

    #[test]
    fn a_written_snapshot_reads_back_equal_under_its_key_only() {
        let dir = tempfile::tempdir().expect("dir");
        let (g, k) = (grid(), key());
        assert!(!g.releases.parts().1.iter().all(Vec::is_empty), "the fixture has a back step");
        let (p, n) = write(dir.path(), &k, &g).expect("write");
        assert_eq!(std::fs::metadata(&p).expect("file").len(), n);
        match read(dir.path(), &k) {
            Outcome::Used(r) => same(&g, &r),
            o => panic!("not used: {o:?}"),
        }
        // Any part of the key differing: not used.
        // (The file's name depends on the database name and scope only.)
        let mut other = k.clone();
        other.tables[2].generation += 1;
        assert_eq!(path(dir.path(), &other), p);
        assert!(matches!(read(dir.path(), &other), Outcome::Stale(_)));
        let mut other = k.clone();
        other.tables[4].token = "y".into();
        assert!(matches!(read(dir.path(), &other), Outcome::Stale(_)));
        let mut other = k.clone();
        other.database_oid = 2;
        assert!(matches!(read(dir.path(), &other), Outcome::Stale(_)));
        let mut other = k.clone();
        other.code ^= 1;
        assert!(matches!(read(dir.path(), &other), Outcome::Stale(_)));
        let mut other = k.clone();
        other.database = "other".into();
        std::fs::copy(&p, path(dir.path(), &other)).expect("copy");
        assert!(matches!(read(dir.path(), &other), Outcome::Stale(_)));
        assert!(matches!(read(dir.path(), &k), Outcome::Used(_)), "still there under its own key");
        assert!(matches!(read(tempfile::tempdir().expect("dir").path(), &k), Outcome::Missing));
    }

    #[test]
    fn every_truncation_and_every_flipped_byte_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let (g, k) = (grid(), key());
        let (p, _) = write(dir.path(), &k, &g).expect("write");
        let good = std::fs::read(&p).expect("read");
        for cut in 0..good.len() {
            std::fs::write(&p, &good[..cut]).expect("write");
            assert!(matches!(read(dir.path(), &k), Outcome::Corrupt(_)), "truncated at {cut} not refused");
        }
        let header = good.len() - g.slots() * 4; // somewhere in the body
        for at in [0, 9, header, good.len() / 2, good.len() - 5, good.len() - 1] {
            let mut bad = good.clone();
            bad[at] ^= 0x40;
            std::fs::write(&p, &bad).expect("write");
            // A flip inside the key's JSON may make another valid key (stale) or
            // break it (corrupt): never used.
            assert!(!matches!(read(dir.path(), &k), Outcome::Used(_)), "flipped byte {at} not refused");
        }
        let mut longer = good.clone();
        longer.push(0);
        std::fs::write(&p, &longer).expect("write");
        assert!(matches!(read(dir.path(), &k), Outcome::Corrupt(_)));
    }
}
