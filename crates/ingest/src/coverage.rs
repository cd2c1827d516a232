//! `ingest coverage`: reported coverage per 100 m cell of EPSG:25832.
//!
//! Two layouts, told apart by the header:
//! - the regulator's (Bundesnetzagentur Mobilfunk-Monitoring):
//!   `id,gsm_out,lte,nr_dss,nr_nsa_sa,nr_gesamt`, operators per technology
//!   (`id`, `lte`, `nr_gesamt` required; operator sets stay NULL);
//! - an operator's flag file: `id` plus one 0/1 column per operator ×
//!   technology, named `<operator>_<lte|5g>` (e.g. `telekom_lte`); the flags
//!   become bit masks over `operator.bit`, the counts their popcount.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use funkplan_model::CellId;
use tokio_postgres::Transaction;

use crate::grid;
use crate::pgcopy::{CopyBuf, CopyIn, Replace};
use crate::problem::{Loc, Problems};
use crate::source::{self, col, field};
use crate::{Error, Progress, Result};

pub(crate) enum Layout {
    Regulator { id: usize, gsm: Option<usize>, lte: usize, dss: Option<usize>, nsa: Option<usize>, nr: usize },
    /// (column, operator bit, is 5G)
    Flags { id: usize, cols: Vec<(usize, i16, bool)> },
}

pub(crate) fn layout(h: &[String], ops: &HashMap<String, i16>, problems: &mut Problems) -> Option<Layout> {
    let Some(id) = col(h, &["id", "cell_id"]) else {
        problems.add(Loc::Line(1), "id", h.join(","), "missing column `id` (cell id 100mN…E…)");
        return None;
    };
    if col(h, &["lte"]).is_some() || col(h, &["nr_gesamt"]).is_some() {
        const KNOWN: &[&str] = &["id", "cell_id", "gsm_out", "lte", "nr_dss", "nr_nsa_sa", "nr_gesamt"];
        for name in h {
            if !KNOWN.iter().any(|k| k.eq_ignore_ascii_case(name)) {
                problems.add(Loc::Line(1), name.clone(), name.clone(), "unknown column for the regulator's format (id,gsm_out,lte,nr_dss,nr_nsa_sa,nr_gesamt)");
            }
        }
        let (Some(lte), Some(nr)) = (col(h, &["lte"]), col(h, &["nr_gesamt"])) else {
            problems.add(Loc::Line(1), if col(h, &["lte"]).is_none() { "lte" } else { "nr_gesamt" }, "", "missing column");
            return None;
        };
        return Some(Layout::Regulator { id, gsm: col(h, &["gsm_out"]), lte, dss: col(h, &["nr_dss"]), nsa: col(h, &["nr_nsa_sa"]), nr });
    }
    let mut cols = Vec::new();
    for (i, name) in h.iter().enumerate() {
        if i == id {
            continue;
        }
        let lower = name.to_ascii_lowercase();
        let parsed = lower
            .rsplit_once('_')
            .and_then(|(op, tech)| Some((op, matches!(tech, "5g" | "nr").then_some(true).or(matches!(tech, "lte").then_some(false))?)));
        match parsed {
            Some((op, is5g)) => match ops.get(op) {
                Some(&bit) => cols.push((i, bit, is5g)),
                None => problems.add(Loc::Line(1), name.clone(), op, "unknown operator in column name"),
            },
            None => problems.add(
                Loc::Line(1),
                name.clone(),
                name.clone(),
                "unknown column: expected the regulator's columns or <operator>_lte / <operator>_5g flags",
            ),
        }
    }
    if cols.is_empty() {
        problems.add(Loc::Line(1), "header", h.join(","), "no coverage columns");
        return None;
    }
    Some(Layout::Flags { id, cols })
}

#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Row {
    n: i32,
    e: i32,
    gsm: Option<i16>,
    lte: i16,
    dss: Option<i16>,
    nsa: Option<i16>,
    nr: i16,
    lte_ops: Option<i32>,
    nr_ops: Option<i32>,
}

/// Above this share of the table's rows new or changed, reported_coverage
/// is rewritten as a whole (emptied, COPY, primary key rebuilt) rather than
/// upserted: an upsert probes and updates the primary key once per row,
/// several times slower for a state-wide file.
const REWRITE_SHARE: f64 = 0.25;

const COLUMNS: &str = "n, e, gsm_count, lte_count, nr_dss_count, nr_nsa_sa_count, nr_count, lte_operators, nr_operators";

pub(crate) fn encode(buf: &mut CopyBuf, r: &Row) {
    buf.row(9);
    buf.i32(r.n);
    buf.i32(r.e);
    buf.opt_i16(r.gsm);
    buf.i16(r.lte);
    buf.opt_i16(r.dss);
    buf.opt_i16(r.nsa);
    buf.i16(r.nr);
    buf.opt_i32(r.lte_ops);
    buf.opt_i32(r.nr_ops);
}

/// One version row of `r` (migration V50's column order: n, e, valid_from,
/// valid_to, then the values as [`encode`]).
pub(crate) fn encode_version(buf: &mut CopyBuf, r: &Row, from: chrono::NaiveDate, to: Option<chrono::NaiveDate>) {
    buf.row(11);
    buf.i32(r.n);
    buf.i32(r.e);
    buf.date(Some(from));
    buf.date(to);
    buf.opt_i16(r.gsm);
    buf.i16(r.lte);
    buf.opt_i16(r.dss);
    buf.opt_i16(r.nsa);
    buf.i16(r.nr);
    buf.opt_i32(r.lte_ops);
    buf.opt_i32(r.nr_ops);
}

/// Whether writing `new` over `old` (both in key order) touches so many
/// rows that a rewrite of the whole table beats changing it row by row:
/// `old` empty, or more than [`REWRITE_SHARE`] of its rows new, changed or
/// removed.
pub(crate) fn worth_rewriting(old: &[Row], new: &[Row]) -> bool {
    let (added, changed, removed) = diff(old, new);
    #[allow(clippy::cast_precision_loss)]
    let many = (added + changed + removed) as f64 > REWRITE_SHARE * old.len() as f64;
    old.is_empty() || many
}

/// The table whose content [`checksum`] describes (migration V40).
const TABLE: &str = "reported_coverage";

/// A SHA-256 over `rows` (in key order, as the table holds them after the
/// ingest): the row count and each row's fields in a fixed binary layout,
/// NULL told apart from every value. Equal checksums mean equal tables;
/// the version tag keeps a future layout from matching an old checksum.
fn checksum<'a>(rows: impl Iterator<Item = &'a Row>) -> (String, u64) {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(b"funkplan reported_coverage rows v1\n");
    let mut n = 0u64;
    let mut buf = Vec::with_capacity(64 * 1024);
    let opt16 = |buf: &mut Vec<u8>, v: Option<i16>| match v {
        Some(v) => {
            buf.push(1);
            buf.extend_from_slice(&v.to_be_bytes());
        }
        None => buf.extend_from_slice(&[0, 0, 0]),
    };
    let opt32 = |buf: &mut Vec<u8>, v: Option<i32>| match v {
        Some(v) => {
            buf.push(1);
            buf.extend_from_slice(&v.to_be_bytes());
        }
        None => buf.extend_from_slice(&[0, 0, 0, 0, 0]),
    };
    for r in rows {
        n += 1;
        buf.extend_from_slice(&r.n.to_be_bytes());
        buf.extend_from_slice(&r.e.to_be_bytes());
        opt16(&mut buf, r.gsm);
        buf.extend_from_slice(&r.lte.to_be_bytes());
        opt16(&mut buf, r.dss);
        opt16(&mut buf, r.nsa);
        buf.extend_from_slice(&r.nr.to_be_bytes());
        opt32(&mut buf, r.lte_ops);
        opt32(&mut buf, r.nr_ops);
        if buf.len() >= 60 * 1024 {
            h.update(&buf);
            buf.clear();
        }
    }
    h.update(&buf);
    h.update(n.to_be_bytes());
    (hex::encode(h.finalize()), n)
}

/// reported_coverage as it is, in key order.
pub(crate) async fn read_table(tx: &Transaction<'_>) -> Result<Vec<Row>> {
    copy_rows(tx, &format!("COPY reported_coverage ({COLUMNS}) TO STDOUT (FORMAT binary)"), "reading reported_coverage").await
}

/// The cells of the release in force at `date`, from the versions, in key order.
pub(crate) async fn read_in_force(tx: &Transaction<'_>, date: chrono::NaiveDate) -> Result<Vec<Row>> {
    // COPY takes no parameters: the date as a literal (a NaiveDate prints as ISO).
    let sql = format!("COPY ({}) TO STDOUT (FORMAT binary)", include_str!("../sql/release_in_force.sql").trim().replace("$1", &format!("DATE '{date}'")));
    copy_rows(tx, &sql, "reading the release in force").await
}

/// Rows of a binary COPY of [`COLUMNS`], in key order.
async fn copy_rows(tx: &Transaction<'_>, sql: &str, what: &'static str) -> Result<Vec<Row>> {
    let mut out = Vec::new();
    let bad = || Error::Usage(format!("{what}: unexpected binary COPY row"));
    crate::pgcopy::copy_out_rows(tx, sql, what, |f| {
        let i32_ = |k: usize| -> Result<Option<i32>> {
            f.get(k).ok_or_else(bad)?.map(|b| <[u8; 4]>::try_from(b).map(i32::from_be_bytes).map_err(|_| bad())).transpose()
        };
        let i16_ = |k: usize| -> Result<Option<i16>> {
            f.get(k).ok_or_else(bad)?.map(|b| <[u8; 2]>::try_from(b).map(i16::from_be_bytes).map_err(|_| bad())).transpose()
        };
        out.push(Row {
            n: i32_(0)?.ok_or_else(bad)?,
            e: i32_(1)?.ok_or_else(bad)?,
            gsm: i16_(2)?,
            lte: i16_(3)?.ok_or_else(bad)?,
            dss: i16_(4)?,
            nsa: i16_(5)?,
            nr: i16_(6)?.ok_or_else(bad)?,
            lte_ops: i32_(7)?,
            nr_ops: i32_(8)?,
        });
        Ok(())
    })
    .await?;
    out.sort_unstable_by_key(|r| (r.n, r.e));
    Ok(out)
}

/// Walk the table's rows and the file's (both in key order, keys unique)
/// together: `f(old, new)` per key, either side missing where the key is
/// only on the other.
fn merge<'a>(old: &'a [Row], new: &'a [Row], mut f: impl FnMut(Option<&'a Row>, Option<&'a Row>)) {
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) if (a.n, a.e) == (b.n, b.e) => {
                f(Some(a), Some(b));
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if (a.n, a.e) < (b.n, b.e) => {
                f(Some(a), None);
                i += 1;
            }
            (Some(a), None) => {
                f(Some(a), None);
                i += 1;
            }
            (_, b) => {
                f(None, b);
                j += 1;
            }
        }
    }
}

/// The key of a row (northing, easting in 100 m).
pub(crate) const fn key(r: &Row) -> (i32, i32) {
    (r.n, r.e)
}

/// Walk `old` and `new` (in key order) and call `f` for every row of `new`
/// that is new or changed (`Some`) and every key of `old` that `new` lacks
/// (`None` with that row): what a write of `new` over `old` has to touch.
pub(crate) fn changes<'a>(old: &'a [Row], new: &'a [Row], mut f: impl FnMut(Result<&'a Row, &'a Row>)) {
    merge(old, new, |a, b| match (a, b) {
        (a, Some(b)) if a != Some(b) => f(Ok(b)),
        (Some(a), None) => f(Err(a)),
        _ => {}
    });
}

/// One parsed coverage file: its rows in key order and their checksum.
pub(crate) struct Parsed {
    /// The name shown in messages and stored in provenance.
    pub file: String,
    pub sha256: String,
    pub rows: Vec<Row>,
    /// [`checksum`] of `rows`.
    pub sum: (String, u64),
    pub layout: &'static str,
    /// How many of its cells lie outside the municipalities' grid (kept as
    /// published); filled in by [`outside_grid`].
    pub outside: usize,
}

/// Parse the coverage file at `path` (every bad row reported, as one
/// [`Error::Invalid`]).
pub(crate) fn parse(path: &Path, file: String, ops: HashMap<String, i16>, show: bool) -> Result<Parsed> {
    let (reader, digest) = source::open(path)?;
    let progress = Progress::new("coverage", show);
    let mut problems = Problems::new(file.clone());
    let mut rows: Vec<Row> = Vec::new();
    let mut layout_name = "";
    if let Some(mut csv) = source::csv(reader, &mut problems)? {
        let h = csv.header.clone();
        if let Some(lay) = layout(&h, &ops, &mut problems) {
            layout_name = match lay {
                Layout::Regulator { .. } => "regulator",
                Layout::Flags { .. } => "operator flags",
            };
            if problems.is_empty() {
                rows = read(&mut csv, &h, &lay, &mut problems, &progress);
            }
        }
        let mut rest = csv.reader.into_inner();
        std::io::copy(&mut rest, &mut std::io::sink()).map_err(Error::io("reading the coverage file"))?;
    }
    problems.into_result()?;
    rows.sort_unstable_by_key(|r| (r.n, r.e));
    let sum = checksum(rows.iter());
    Ok(Parsed { file, sha256: digest.hex(), rows, sum, layout: layout_name, outside: 0 })
}

/// `base` with `over`'s cells put over it (both in key order): a partial
/// file merged into a release.
pub(crate) fn overlay(base: Vec<Row>, over: &[Row]) -> Vec<Row> {
    let mut out = Vec::with_capacity(base.len().max(over.len()));
    merge(&base, over, |a, b| out.extend(b.or(a).cloned()));
    out
}

/// How `new` differs from `old` (both in key order): cells (new, changed,
/// removed).
pub(crate) fn diff(old: &[Row], new: &[Row]) -> (u64, u64, u64) {
    let (mut added, mut changed, mut removed) = (0, 0, 0);
    merge(old, new, |a, b| match (a, b) {
        (None, Some(_)) => added += 1,
        (Some(_), None) => removed += 1,
        (Some(a), Some(b)) if a != b => changed += 1,
        _ => {}
    });
    (added, changed, removed)
}

/// The checksum of release content `rows` (in key order), as stored in
/// `coverage_release.checksum` and `table_checksum`.
pub(crate) fn release_checksum(rows: &[Row]) -> (String, u64) {
    checksum(rows.iter())
}

/// Count each file's cells outside the municipalities' grid `grid` (kept
/// as published), for the summary.
pub(crate) fn outside_grid<'a>(grid: &crate::grid::CellSet, files: impl Iterator<Item = &'a mut Parsed>) {
    for f in files {
        f.outside = f.rows.iter().filter(|r| !grid.contains(r.n, r.e)).count();
    }
}

/// Make reported_coverage hold exactly `new` (in key order), given that it
/// holds `old` now: nothing written when equal, an upsert (and delete) of
/// the few cells that differ, or a rewrite of the whole table (swapped in)
/// when many do. `source` is the SHA-256 of the file whose rows `new` is
/// exactly, if one is. Returns the write path taken.
pub(crate) async fn write_table(tx: &Transaction<'_>, old: &[Row], new: &[Row], sum: &(String, u64), source: Option<&str>, detail: &mut serde_json::Map<String, serde_json::Value>) -> Result<&'static str> {
    let t0 = std::time::Instant::now();
    // Other writers of reported_coverage wait (readers do not).
    tx.batch_execute("LOCK TABLE reported_coverage IN SHARE ROW EXCLUSIVE MODE").await.map_err(Error::pg("locking reported_coverage"))?;
    let (added, changed, removed) = diff(old, new);
    #[allow(clippy::cast_precision_loss)]
    let rewrite = old.is_empty() || (added + changed + removed) as f64 > REWRITE_SHARE * old.len() as f64;
    let path_taken = if added + changed + removed == 0 {
        "no change"
    } else if rewrite {
        let replace = Replace::begin(tx, "reported_coverage").await?;
        let mut copy = CopyIn::start(tx, &replace.copy_sql(COLUMNS), "writing reported_coverage").await?;
        let mut buf = CopyBuf::new();
        for r in new {
            encode(&mut buf, r);
            if buf.has_full_chunks() {
                copy.flush(&mut buf).await?;
            }
        }
        copy.finish(buf).await?;
        // Before the swap, whose lock readers wait for until commit: the
        // checksum (the COPY's trigger has forgotten the old one).
        put_checksum(tx, sum, source).await?;
        let swapped = replace.swaps();
        replace.finish(tx).await?;
        detail.insert("replaced".into(), if swapped { "new table swapped in" } else { "in place" }.into());
        if old.is_empty() { "bulk load" } else { "rewrite" }
    } else {
        // Few cells: stage only the new and changed ones, one upsert, and
        // the removed ones, one delete.
        tx.batch_execute(include_str!("../sql/coverage_stage.sql")).await.map_err(Error::pg("creating the coverage staging table"))?;
        let (mut buf, mut gone) = (CopyBuf::new(), CopyBuf::new());
        changes(old, new, |c| match c {
            Ok(b) => encode(&mut buf, b),
            Err(a) => {
                gone.row(2);
                gone.i32(a.n);
                gone.i32(a.e);
            }
        });
        buf.send(tx, &format!("COPY ingest_coverage_stage ({COLUMNS}) FROM STDIN (FORMAT binary)"), "staging coverage").await?;
        tx.batch_execute("ANALYZE ingest_coverage_stage").await.map_err(Error::pg("analysing the coverage staging table"))?;
        if changed > 0 {
            tx.execute(include_str!("../sql/coverage_update.sql"), &[]).await.map_err(Error::pg("updating the changed cells of reported_coverage"))?;
        }
        if added > 0 {
            tx.execute(include_str!("../sql/coverage_insert.sql"), &[]).await.map_err(Error::pg("adding the new cells to reported_coverage"))?;
        }
        if removed > 0 {
            tx.batch_execute(include_str!("../sql/coverage_gone_stage.sql")).await.map_err(Error::pg("creating the staging table of removed cells"))?;
            gone.send(tx, "COPY ingest_coverage_gone (n, e) FROM STDIN (FORMAT binary)", "staging removed cells").await?;
            tx.execute(include_str!("../sql/coverage_delete.sql"), &[]).await.map_err(Error::pg("deleting removed cells from reported_coverage"))?;
        }
        put_checksum(tx, sum, source).await?;
        "upsert"
    };
    tracing::debug!(ms = t0.elapsed().as_secs_f64() * 1e3, write = path_taken, added, changed, removed, "reported_coverage written");
    detail.insert("write".into(), path_taken.into());
    Ok(path_taken)
}

/// Record `sum`, the checksum of the table as this ingest leaves it,
/// naming the file `source` when the table holds exactly its rows. After
/// the ingest's writes to the table, whose trigger forgets the old checksum.
async fn put_checksum(tx: &Transaction<'_>, sum: &(String, u64), source: Option<&str>) -> Result<()> {
    let (sum, n) = sum;
    let n = i64::try_from(*n).unwrap_or(i64::MAX);
    tx.execute(include_str!("../sql/checksum_put.sql"), &[&TABLE, sum, &n, &source]).await.map_err(Error::pg("recording reported_coverage's checksum"))?;
    Ok(())
}

pub(crate) fn read<R: std::io::Read>(csv: &mut source::Csv<R>, h: &[String], lay: &Layout, problems: &mut Problems, progress: &Progress) -> Vec<Row> {
    let mut out = Vec::new();
    let mut seen: HashSet<u64> = HashSet::new();
    let mut rows = source::Rows::new(h.len(), progress);
    while let Some((rec, line)) = rows.next(csv, problems) {
        let loc = || Loc::Line(line);
        let before = problems.total();
        let id_col = match lay {
            Layout::Regulator { id, .. } | Layout::Flags { id, .. } => *id,
        };
        let id = field(rec, id_col).unwrap_or_default();
        let cell = match id.parse::<CellId>() {
            Ok(c) => Some(c),
            Err(_) => {
                problems.add(loc(), &h[id_col], id, "malformed cell id (expected 100mN{northing/100}E{easting/100})");
                None
            }
        };
        if let Some(c) = cell {
            if !seen.insert(grid::key(c.n, c.e)) {
                problems.add(loc(), &h[id_col], id, "duplicate cell in the file");
            }
        }
        let mut count = |c: usize, max: i16| -> Option<i16> {
            let v = match field(rec, c) {
                Ok(v) => v,
                Err(reason) => {
                    problems.add(loc(), &h[c], "", reason);
                    return None;
                }
            };
            match v.parse::<i16>() {
                Ok(n) if (0..=max).contains(&n) => Some(n),
                _ => {
                    problems.add(loc(), &h[c], v, format!("must be a whole number 0..{max}"));
                    None
                }
            }
        };
        let row = match lay {
            Layout::Regulator { gsm, lte, dss, nsa, nr, .. } => {
                let g = gsm.map(|c| count(c, 30));
                let l = count(*lte, 30);
                let d = dss.map(|c| count(c, 30));
                let s = nsa.map(|c| count(c, 30));
                let r = count(*nr, 30);
                cell.zip(l).zip(r).map(|((c, l), r)| Row {
                    n: c.n,
                    e: c.e,
                    gsm: g.flatten(),
                    lte: l,
                    dss: d.flatten(),
                    nsa: s.flatten(),
                    nr: r,
                    lte_ops: None,
                    nr_ops: None,
                })
            }
            Layout::Flags { cols, .. } => {
                let (mut lm, mut nm) = (0i32, 0i32);
                for &(c, bit, is5g) in cols {
                    if count(c, 1) == Some(1) {
                        if is5g {
                            nm |= 1 << bit;
                        } else {
                            lm |= 1 << bit;
                        }
                    }
                }
                #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
                cell.map(|c| Row {
                    n: c.n,
                    e: c.e,
                    gsm: None,
                    lte: lm.count_ones() as i16,
                    dss: None,
                    nsa: None,
                    nr: nm.count_ones() as i16,
                    lte_ops: Some(lm),
                    nr_ops: Some(nm),
                })
            }
        };
        if problems.total() != before {
            continue;
        }
        if let Some(r) = row {
            out.push(r);
        }
    }
    out
}
