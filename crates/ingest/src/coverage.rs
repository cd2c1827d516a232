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
use crate::pgcopy::{CopyBuf, Replace};
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

/// Above this share of the table's rows changed, reported_coverage is
/// rewritten as a whole (emptied, loaded, indexes rebuilt) rather than
/// upserted row by row: an upsert probes and updates the primary key once
/// per row, which for a state-wide file is ten times slower.
const REWRITE_SHARE: f64 = 0.25;

pub async fn run(tx: &Transaction<'_>, path: &Path, opts: &Options, summary: &mut Summary) -> Result<()> {
    let ops = crate::sites::operators(tx).await?;
    let (reader, digest) = source::open(path)?;
    let file = summary.file.clone();
    let show = opts.progress;
    // Parse on a blocking thread while the grid loads from the database.
    let parse_task = tokio::task::spawn_blocking(move || -> Result<(Vec<Row>, &'static str, Problems)> {
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
        // Key order: the primary key's, so an index build finds it sorted.
        rows_out.sort_unstable_by_key(|r| (r.n, r.e));
        Ok((rows_out, lay_name, problems))
    });
    let (parsed, grid) = tokio::join!(parse_task, crate::pgcopy::read_grid(tx));
    let (rows_out, lay_name, problems) = parsed.map_err(|e| Error::Usage(format!("coverage parser failed: {e}")))??;
    let grid = grid?;
    summary.sha256 = digest.hex();
    summary.rows = rows_out.len() as u64;
    problems.into_result()?;
    let progress = Progress::new("coverage", opts.progress);
    let outside = rows_out.iter().filter(|r| !grid.contains(r.n, r.e)).count();
    drop(grid);

    const COLUMNS: &str = "n, e, gsm_count, lte_count, nr_dss_count, nr_nsa_sa_count, nr_count, lte_operators, nr_operators";
    let encode = |rows: &[Row]| {
        let mut buf = CopyBuf::new();
        for r in rows {
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
        buf
    };
    progress.stage("writing coverage");
    let empty: bool = tx
        .query_one("SELECT NOT EXISTS (SELECT 1 FROM reported_coverage)", &[])
        .await
        .map_err(Error::pg("looking for reported coverage"))?
        .get(0);
    let path_taken;
    if empty {
        // Nothing to merge with: load the table in bulk.
        crate::pgcopy::replace_table(tx, "reported_coverage", COLUMNS, encode(&rows_out), "writing reported_coverage").await?;
        summary.inserted = summary.rows;
        path_taken = "bulk load";
    } else {
        tx.batch_execute(include_str!("../sql/coverage_stage.sql")).await.map_err(Error::pg("creating the coverage staging table"))?;
        encode(&rows_out).send(tx, &format!("COPY ingest_coverage_stage ({COLUMNS}) FROM STDIN (FORMAT binary)"), "staging coverage").await?;
        tx.batch_execute("ANALYZE ingest_coverage_stage").await.map_err(Error::pg("analysing the coverage staging table"))?;
        let diff = tx.query_one(include_str!("../sql/coverage_diff.sql"), &[]).await.map_err(Error::pg("comparing coverage"))?;
        let count = |i: usize| u64::try_from(diff.get::<_, i64>(i)).unwrap_or(0);
        let (mut new, mut changed, existing) = (count(0), count(1), count(2));
        #[allow(clippy::cast_precision_loss)]
        let rewrite = (new + changed) as f64 > REWRITE_SHARE * existing as f64;
        if new + changed == 0 {
            path_taken = "no change";
        } else if rewrite {
            tx.batch_execute(include_str!("../sql/coverage_keep.sql")).await.map_err(Error::pg("keeping the cells the file leaves alone"))?;
            let replace = Replace::begin(tx, "reported_coverage").await?;
            tx.batch_execute(include_str!("../sql/coverage_rewrite.sql")).await.map_err(Error::pg("rewriting reported_coverage"))?;
            replace.finish(tx).await?;
            path_taken = "rewrite";
        } else {
            let rows = tx.query(include_str!("../sql/coverage_upsert.sql"), &[]).await.map_err(Error::pg("upserting coverage"))?;
            (new, changed) = crate::split_counts(&rows);
            path_taken = "upsert";
        }
        summary.inserted = new;
        summary.updated = changed;
    }
    drop(rows_out);
    summary.unchanged = summary.rows.saturating_sub(summary.inserted + summary.updated);
    tracing::debug!(path = path_taken, "reported_coverage written");
    summary.detail.insert("layout".into(), lay_name.into());
    summary.detail.insert("cells_outside_grid".into(), outside.into());
    summary.detail.insert("write".into(), path_taken.into());
    summary.notes.push(format!("Layout: {lay_name}. {outside} of the cells lie outside the municipalities' grid (kept as published)."));
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
