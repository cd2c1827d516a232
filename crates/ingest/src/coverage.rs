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
use crate::pgcopy::CopyBuf;
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

pub async fn run(tx: &Transaction<'_>, path: &Path, opts: &Options, summary: &mut Summary) -> Result<()> {
    let progress = Progress::new("coverage", opts.progress);
    let ops = crate::sites::operators(tx).await?;
    let mut problems = Problems::new(summary.file.clone());
    let (reader, digest) = source::open(path)?;
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
    summary.sha256 = digest.hex();
    summary.rows = rows_out.len() as u64;
    problems.into_result()?;

    tx.batch_execute(include_str!("../sql/coverage_stage.sql")).await.map_err(Error::pg("creating the coverage staging table"))?;
    let mut buf = CopyBuf::new();
    for r in &rows_out {
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
    drop(rows_out);
    buf.send(tx, "COPY ingest_coverage_stage FROM STDIN (FORMAT binary)", "staging coverage").await?;
    progress.stage("writing coverage");
    let rows = tx.query(include_str!("../sql/coverage_upsert.sql"), &[]).await.map_err(Error::pg("upserting coverage"))?;
    let (inserted, updated) = crate::split_counts(&rows);
    summary.inserted = inserted;
    summary.updated = updated;
    summary.unchanged = summary.rows.saturating_sub(inserted + updated);
    let outside: i64 = tx
        .query_one(
            "SELECT count(*) FROM ingest_coverage_stage s WHERE NOT EXISTS (SELECT 1 FROM grid_cell g WHERE g.n = s.n AND g.e = s.e)",
            &[],
        )
        .await
        .map_err(Error::pg("counting coverage cells outside the grid"))?
        .get(0);
    summary.detail.insert("layout".into(), lay_name.into());
    summary.detail.insert("cells_outside_grid".into(), outside.into());
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
