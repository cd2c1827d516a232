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
use crate::{Error, Options, Progress, Result, Summary};

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

fn encode(buf: &mut CopyBuf, r: &Row) {
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

/// The SHA-256 of the file at `path` (hex), as [`source::open`]'s digest.
fn file_sha256(path: &Path) -> Result<String> {
    use sha2::Digest;
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(Error::io(format!("opening {}", path.display())))?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(Error::io(format!("reading {}", path.display())))?;
        if n == 0 {
            return Ok(hex::encode(h.finalize()));
        }
        h.update(&buf[..n]);
    }
}

/// reported_coverage as it is, in key order.
async fn read_table(tx: &Transaction<'_>) -> Result<Vec<Row>> {
    let mut out = Vec::new();
    let bad = || Error::Usage("reported_coverage: unexpected binary COPY row".into());
    crate::pgcopy::copy_out_rows(tx, &format!("COPY reported_coverage ({COLUMNS}) TO STDOUT (FORMAT binary)"), "reading reported_coverage", |f| {
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

pub async fn run(tx: &Transaction<'_>, path: &Path, opts: &Options, summary: &mut Summary) -> Result<()> {
    let ops = crate::sites::operators(tx).await?;
    let (reader, digest) = source::open(path)?;
    let file = summary.file.clone();
    let show = opts.progress;
    // Parse on a blocking thread while the grid and the table load.
    let parse_task = tokio::task::spawn_blocking(move || -> Result<(Vec<Row>, String, &'static str, Problems)> {
        let progress = Progress::new("coverage", show);
        let mut problems = Problems::new(file);
        let mut rows_out: Vec<Row> = Vec::new();
        let mut lay_name = "";
        if let Some(mut csv) = source::csv(reader, &mut problems)? {
            let h = csv.header.clone();
            if let Some(lay) = layout(&h, &ops, &mut problems) {
                lay_name = match lay {
                    Layout::Regulator { .. } => "regulator",
                    Layout::Flags { .. } => "operator flags",
                };
                if problems.is_empty() {
                    rows_out = read(&mut csv, &h, &lay, &mut problems, &progress);
                }
            }
            let mut rest = csv.reader.into_inner();
            std::io::copy(&mut rest, &mut std::io::sink()).map_err(Error::io("reading the coverage file"))?;
        }
        rows_out.sort_unstable_by_key(|r| (r.n, r.e));
        let (sum, _) = checksum(rows_out.iter());
        Ok((rows_out, sum, lay_name, problems))
    });
    // The file's SHA-256 up front (a fraction of the parse): when the table
    // holds exactly the rows of this very file, reading the table back is
    // most likely wasted; otherwise it is read while the file is parsed.
    let hash_path = path.to_owned();
    let file_sha = tokio::task::spawn_blocking(move || file_sha256(&hash_path));
    let load = async {
        // Other writers of reported_coverage wait (readers do not), so the
        // table read here is the one the write below replaces.
        tx.batch_execute("LOCK TABLE reported_coverage IN SHARE ROW EXCLUSIVE MODE").await.map_err(Error::pg("locking reported_coverage"))?;
        const W: &str = "reading reported_coverage's checksum";
        let stored: Option<(String, Option<String>)> = tx
            .query_opt(include_str!("../sql/checksum_get.sql"), &[&TABLE])
            .await
            .map_err(Error::pg("reading reported_coverage's checksum"))?
            .map(|r| Ok::<_, Error>((crate::col(&r, "checksum", W)?, crate::col(&r, "source_sha256", W)?)))
            .transpose()?;
        let grid = crate::pgcopy::read_grid(tx).await?;
        let file_sha = file_sha.await.map_err(|e| Error::Usage(format!("hashing the coverage file failed: {e}")))??;
        let same_file = stored.as_ref().and_then(|s| s.1.as_deref()) == Some(file_sha.as_str());
        let table = if same_file { None } else { Some(read_table(tx).await?) };
        Ok::<_, Error>((grid, stored.map(|s| s.0), table))
    };
    let (parsed, loaded) = tokio::join!(parse_task, load);
    let (rows_out, file_sum, lay_name, problems) = parsed.map_err(|e| Error::Usage(format!("coverage parser failed: {e}")))??;
    let (grid, stored, table) = loaded?;
    summary.sha256 = digest.hex();
    summary.rows = rows_out.len() as u64;
    problems.into_result()?;
    // The table holds exactly the file's rows: nothing to compare or write.
    let same = stored.as_deref() == Some(file_sum.as_str());
    summary.detail.insert("compared".into(), if same { "checksum" } else { "rows" }.into());
    let old = match table {
        Some(t) => t,
        None if same => Vec::new(),
        None => read_table(tx).await?,
    };
    let progress = Progress::new("coverage", opts.progress);
    let outside = rows_out.iter().filter(|r| !grid.contains(r.n, r.e)).count();
    drop(grid);

    // What the file changes, compared in memory (a join in the database
    // took ~10 s at NRW scale).
    let (mut new, mut changed) = (0u64, 0u64);
    if !same {
        merge(&old, &rows_out, |a, b| match (a, b) {
            (None, Some(_)) => new += 1,
            (Some(a), Some(b)) if a != b => changed += 1,
            _ => {}
        });
    }
    // The checksum of what the table will hold (the file's rows and the
    // others kept), computed before the write: after a swap, readers wait
    // until commit.
    let after = (!same).then(|| {
        let mut rows = Vec::with_capacity(old.len().max(rows_out.len()));
        merge(&old, &rows_out, |a, b| rows.push(b.or(a)));
        checksum(rows.into_iter().flatten())
    });
    progress.stage("writing coverage");
    #[allow(clippy::cast_precision_loss)]
    let rewrite = old.is_empty() || (new + changed) as f64 > REWRITE_SHARE * old.len() as f64;
    let sha = summary.sha256.clone();
    let path_taken = if new + changed == 0 {
        put_checksum(tx, after.as_ref(), &file_sum, &sha).await?;
        "no change"
    } else if rewrite {
        // The table's cells the file leaves alone and the file's, in key
        // order, into the emptied table.
        let replace = Replace::begin(tx, "reported_coverage").await?;
        let mut copy = CopyIn::start(tx, &replace.copy_sql(COLUMNS), "writing reported_coverage").await?;
        let mut buf = CopyBuf::new();
        let mut rows = Vec::with_capacity(1024);
        merge(&old, &rows_out, |a, b| rows.push(b.or(a)));
        for r in rows.into_iter().flatten() {
            encode(&mut buf, r);
            if buf.has_full_chunks() {
                copy.flush(&mut buf).await?;
            }
        }
        copy.finish(buf).await?;
        // Before the swap, whose lock readers wait for until commit: the
        // checksum (the COPY's trigger has forgotten the old one) and
        // freeing the rows.
        put_checksum(tx, after.as_ref(), &file_sum, &sha).await?;
        let bulk = old.is_empty();
        drop((old, rows_out));
        let swapped = replace.swaps();
        replace.finish(tx).await?;
        summary.detail.insert("replaced".into(), if swapped { "new table swapped in" } else { "in place" }.into());
        if bulk { "bulk load" } else { "rewrite" }
    } else {
        // Few cells: stage only the new and changed ones, one upsert.
        tx.batch_execute(include_str!("../sql/coverage_stage.sql")).await.map_err(Error::pg("creating the coverage staging table"))?;
        let mut buf = CopyBuf::new();
        merge(&old, &rows_out, |a, b| {
            if let Some(b) = b {
                if a != Some(b) {
                    encode(&mut buf, b);
                }
            }
        });
        buf.send(tx, &format!("COPY ingest_coverage_stage ({COLUMNS}) FROM STDIN (FORMAT binary)"), "staging coverage").await?;
        let rows = tx.query(include_str!("../sql/coverage_upsert.sql"), &[]).await.map_err(Error::pg("upserting coverage"))?;
        (new, changed) = crate::split_counts(&rows)?;
        put_checksum(tx, after.as_ref(), &file_sum, &sha).await?;
        "upsert"
    };
    summary.inserted = new;
    summary.updated = changed;
    summary.unchanged = summary.rows.saturating_sub(new + changed);
    tracing::debug!(write = path_taken, "reported_coverage written");
    summary.detail.insert("layout".into(), lay_name.into());
    summary.detail.insert("cells_outside_grid".into(), outside.into());
    summary.detail.insert("write".into(), path_taken.into());
    summary.notes.push(format!("Layout: {lay_name}. {outside} of the cells lie outside the municipalities' grid (kept as published)."));
    Ok(())
}

/// Record `after`, the checksum of the table as this ingest leaves it (none:
/// the stored one still holds), naming the file `sha` when the table holds
/// exactly its rows (`file_sum`). After the ingest's writes to the table,
/// whose trigger forgets the old checksum.
async fn put_checksum(tx: &Transaction<'_>, after: Option<&(String, u64)>, file_sum: &str, sha: &str) -> Result<()> {
    let Some((sum, n)) = after else { return Ok(()) };
    let n = i64::try_from(*n).unwrap_or(i64::MAX);
    let source = (sum == file_sum).then_some(sha);
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
