//! `ingest measures`: build measures from CSV → `measure`.
//!
//! Columns: `measure_id, site_id, kind, status, planned_date,
//! completed_date` (YYYY-MM-DD), optional `synthetic`. The site must exist
//! (ingest sites first). A completed measure needs its completion date.
//! Dates must lie in their plausible windows (funkplan_model::DateField:
//! completion 2019-01-01 … today, planned 1990-01-01 … today + 10 years). A
//! completion before the planned date is allowed: ahead of plan.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;

use funkplan_model::{DateField, MeasureId, MeasureKind, MeasureStatus, SiteId, ID_RULE};
use tokio_postgres::Transaction;

use crate::pgcopy::CopyBuf;
use crate::problem::{Loc, Problems};
use crate::source::{self, col, field};
use crate::{Error, Options, Progress, Result, Summary};

const COLUMNS: &[&str] = &["measure_id", "site_id", "kind", "status", "planned_date", "completed_date", "synthetic"];

pub(crate) struct Measure {
    line: u64,
    measure_id: String,
    site_id: String,
    kind: MeasureKind,
    status: MeasureStatus,
    planned_date: Option<chrono::NaiveDate>,
    completed_date: Option<chrono::NaiveDate>,
    synthetic: bool,
}

pub async fn run(tx: &Transaction<'_>, path: &Path, opts: &Options, summary: &mut Summary) -> Result<()> {
    let progress = Progress::new("measures", opts.progress);
    let mut problems = Problems::new(summary.file.clone());
    let (reader, digest) = source::open(path)?;
    let measures = match source::csv(reader, &mut problems)? {
        None => Vec::new(),
        Some(mut csv) => read(&mut csv, opts, &mut problems, &progress)?,
    };
    summary.sha256 = digest.hex();
    summary.rows = measures.len() as u64;
    problems.into_result()?;
    let mut problems = Problems::new(summary.file.clone());

    tx.batch_execute(include_str!("../sql/measure_stage.sql")).await.map_err(Error::pg("creating the measure staging table"))?;
    let mut buf = CopyBuf::new();
    for m in &measures {
        buf.row(8);
        buf.i64(i64::try_from(m.line).unwrap_or(i64::MAX));
        buf.text(&m.measure_id);
        buf.text(&m.site_id);
        buf.text(m.kind.as_str());
        buf.text(m.status.as_str());
        buf.date(m.planned_date);
        buf.date(m.completed_date);
        buf.bool(m.synthetic);
    }
    buf.send(tx, "COPY ingest_measure_stage FROM STDIN (FORMAT binary)", "staging measures").await?;
    for r in tx.query(include_str!("../sql/measure_checks.sql"), &[]).await.map_err(Error::pg("checking measures against the database"))? {
        const W: &str = "checking measures against the database";
        let line = u64::try_from(crate::col::<i64>(&r, "line", W)?).unwrap_or(0);
        let (id, site, no_site): (String, String, bool) =
            (crate::col(&r, "measure_id", W)?, crate::col(&r, "site_id", W)?, crate::col(&r, "no_site", W)?);
        if no_site {
            problems.add(Loc::Line(line), "site_id", site, "no such site (ingest the sites first)");
            continue;
        }
        let (old, new): (Option<String>, String) = (crate::col(&r, "old_status", W)?, crate::col(&r, "new_status", W)?);
        if let (Some(Ok(o)), Ok(n)) = (old.as_deref().map(MeasureStatus::from_str), MeasureStatus::from_str(&new)) {
            if !o.can_become(n) {
                problems.add(Loc::Line(line), "status", new, format!("measure {id} is {o} in the database and cannot go back to {n}"));
            }
        }
    }
    problems.into_result()?;
    progress.stage("writing measures");
    let rows = tx.query(include_str!("../sql/measure_upsert.sql"), &[]).await.map_err(Error::pg("upserting measures"))?;
    let (inserted, updated) = crate::split_counts(&rows)?;
    summary.inserted = inserted;
    summary.updated = updated;
    summary.unchanged = summary.rows.saturating_sub(inserted + updated);
    Ok(())
}

pub(crate) fn read<R: std::io::Read>(csv: &mut source::Csv<R>, opts: &Options, problems: &mut Problems, progress: &Progress) -> Result<Vec<Measure>> {
    let h = csv.header.clone();
    for name in &h {
        if !COLUMNS.iter().any(|c| c.eq_ignore_ascii_case(name)) {
            problems.add(Loc::Line(1), name.clone(), name.clone(), format!("unknown column (known: {})", COLUMNS.join(", ")));
        }
    }
    let mut cols = [None; 6];
    for (k, name) in COLUMNS[..6].iter().enumerate() {
        cols[k] = col(&h, &[name]);
        if cols[k].is_none() {
            problems.add(Loc::Line(1), *name, "", "missing column");
        }
    }
    if !problems.is_empty() {
        return Ok(Vec::new());
    }
    let c_syn = col(&h, &["synthetic"]);
    let today = opts.today();
    let mut out = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut rows = source::Rows::new(h.len(), progress);
    while let Some((rec, line)) = rows.next(csv, problems) {
        let loc = Loc::Line(line);
        let before = problems.total();
        let mut v = [""; 7];
        for (k, c) in cols.iter().copied().chain([c_syn]).enumerate() {
            if let Some(c) = c {
                match field(rec, c) {
                    Ok(s) => v[k] = s,
                    Err(e) => problems.add(loc.clone(), h[c].clone(), "", e),
                }
            }
        }
        let [id, site, kind, status, pd, cd, syn] = v;
        if let Some(first) = seen.insert(id.to_owned(), line) {
            problems.add(loc.clone(), "measure_id", id, format!("duplicate measure_id: also on line {first}"));
        }
        if MeasureId::check(id).is_err() {
            problems.add(loc.clone(), "measure_id", id, format!("measure_id must be {ID_RULE}"));
        }
        if SiteId::check(site).is_err() {
            problems.add(loc.clone(), "site_id", site, format!("site_id must be {ID_RULE}"));
        }
        let kind = MeasureKind::from_str(kind).map_err(|e| problems.add(loc.clone(), "kind", kind, e.to_string())).ok();
        let status = MeasureStatus::from_str(status).map_err(|e| problems.add(loc.clone(), "status", status, e.to_string())).ok();
        let planned = source::date(pd, DateField::Planned, today).map_err(|e| problems.add(loc.clone(), "planned_date", pd, e)).ok().flatten();
        let completed =
            source::date(cd, DateField::Completed, today).map_err(|e| problems.add(loc.clone(), "completed_date", cd, e)).ok().flatten();
        let synthetic = crate::sites::parse_bool(syn).map_err(|e| problems.add(loc.clone(), "synthetic", syn, e)).unwrap_or(false);
        match (status, completed) {
            // Completed with a date that was refused above: one problem is enough.
            (Some(MeasureStatus::Completed), None) if cd.is_empty() => {
                problems.add(loc.clone(), "completed_date", cd, "a completed measure needs its completed_date");
            }
            (Some(s @ (MeasureStatus::Planned | MeasureStatus::InProgress)), Some(_)) => {
                problems.add(loc.clone(), "completed_date", cd, format!("a {s} measure has no completed_date"));
            }
            _ => {}
        }
        if problems.total() != before {
            continue;
        }
        let (Some(kind), Some(status)) = (kind, status) else { continue };
        out.push(Measure {
            line,
            measure_id: id.to_owned(),
            site_id: site.to_owned(),
            kind,
            status,
            planned_date: planned,
            completed_date: completed,
            synthetic,
        });
    }
    Ok(out)
}
