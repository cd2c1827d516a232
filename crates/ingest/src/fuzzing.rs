//! Database-free entry points to the ingest's parsers (issue 8): the code
//! `ingest` runs on a file before it touches the database, fed from bytes,
//! for the cargo-fuzz targets in `fuzz/` and the property tests. Nothing
//! here writes anywhere; checks that need the database (known operators
//! aside: the seeded four are assumed) are not made.

use std::collections::HashMap;
use std::io::{BufReader, Cursor};

use serde_json::Value;

use crate::crs::ToUtm32;
use crate::problem::{Loc, Problems};
use crate::{source, Error, Options, Progress, Result};

/// The CSV kinds.
#[derive(Clone, Copy, Debug)]
pub enum CsvKind {
    Households,
    Sites,
    Measures,
    Coverage,
}

/// The GeoJSON kinds.
#[derive(Clone, Copy, Debug)]
pub enum GeoJsonKind {
    Municipalities,
    Sites,
}

/// The operators the seeds load, with their bits.
fn operators() -> HashMap<String, i16> {
    [("telekom", 0), ("vodafone", 1), ("telefonica", 2), ("1und1", 3)].into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn options() -> Options {
    Options { today: chrono::NaiveDate::from_ymd_opt(2026, 1, 1), ..Options::default() }
}

/// A scratch file for the readers that take a path (sites): one per thread.
fn scratch(bytes: &[u8], ext: &str) -> Result<std::path::PathBuf> {
    let p = std::env::temp_dir().join(format!("funkplan-fuzz-{}-{:?}.{ext}", std::process::id(), std::thread::current().id()).replace(['(', ')'], ""));
    std::fs::write(&p, bytes).map_err(Error::io(format!("writing {}", p.display())))?;
    Ok(p)
}

/// Validate `bytes` as a CSV file of `kind`: `Ok` when `ingest` would go on
/// to the database, else the `Invalid` error with every problem.
pub fn csv(kind: CsvKind, bytes: &[u8]) -> Result<()> {
    let mut problems = Problems::new("fuzz.csv");
    let progress = Progress::hidden("fuzz");
    let opts = options();
    if let CsvKind::Sites = kind {
        let p = scratch(bytes, "csv")?;
        crate::sites::read_csv(&p, &opts, &operators(), &mut problems, &progress)?;
        return problems.into_result();
    }
    let Some(mut csv) = source::csv(BufReader::new(Cursor::new(bytes)), &mut problems)? else {
        return problems.into_result();
    };
    match kind {
        CsvKind::Households => {
            crate::households::parse(&mut csv, &mut problems, &progress)?;
        }
        CsvKind::Measures => {
            crate::measures::read(&mut csv, &opts, &mut problems, &progress)?;
        }
        CsvKind::Coverage => {
            let h = csv.header.clone();
            if let Some(lay) = crate::coverage::layout(&h, &operators(), &mut problems) {
                if problems.is_empty() {
                    crate::coverage::read(&mut csv, &h, &lay, &mut problems, &progress);
                }
            }
        }
        CsvKind::Sites => {}
    }
    problems.into_result()
}

/// Validate `bytes` as a GeoJSON file of `kind` (as `csv` does for CSV).
pub fn geojson(kind: GeoJsonKind, bytes: &[u8]) -> Result<()> {
    let mut problems = Problems::new("fuzz.geojson");
    let progress = Progress::hidden("fuzz");
    let opts = options();
    match kind {
        GeoJsonKind::Sites => {
            let p = scratch(bytes, "geojson")?;
            crate::sites::read_geojson(&p, &opts, &operators(), &mut problems, &progress)?;
        }
        GeoJsonKind::Municipalities => {
            let doc: Value = match serde_json::from_slice(bytes) {
                Ok(v) => v,
                Err(e) => {
                    problems.add(Loc::File, "(json)", format!("line {} column {}", e.line(), e.column()), format!("malformed JSON: {e}"));
                    return problems.into_result();
                }
            };
            if let Some((features, crs)) = crate::geojson::collection(&doc, None, &mut problems) {
                let proj = ToUtm32::new(crs).map_err(Error::Usage)?;
                for (i, f) in features.iter().enumerate() {
                    crate::municipalities::parse_feature(f, i, &proj, &opts, &mut problems);
                }
            }
        }
    }
    problems.into_result()
}

/// What every input must satisfy besides not panicking: accepted, or
/// refused with at least one problem, each with a reason and a place
/// (the file, or a line / feature number from 1). Panics otherwise.
pub fn check(r: Result<()>) {
    match r {
        Ok(()) => {}
        Err(Error::Invalid { problems, total, .. }) => {
            assert!(!problems.is_empty() && total >= problems.len() as u64, "refused without a problem");
            for p in &problems {
                assert!(!p.reason.is_empty(), "problem without a reason: {p:?}");
                if let Loc::Line(n) | Loc::Feature(n) = p.loc {
                    assert!(n >= 1, "problem at line/feature 0: {p}");
                }
                let _ = p.to_string();
            }
        }
        Err(e) => panic!("unexpected error kind: {e}"),
    }
}
