//! `ingest households`: the census grid (EPSG:3035, 100 m or 1 km cells) →
//! households per 100 m cell of EPSG:25832 (crates/coverage/README.md), replacing
//! `household_cell` as a whole.
//!
//! The file is streamed; what is held is the aggregate per 25832 cell
//! (bounded by the number of cells) and the census ids seen (for duplicates).

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;

use tokio_postgres::Transaction;

use crate::crs::{Crs, FastHash, LaeaLattice};
use crate::grid;
use crate::pgcopy::{CopyBuf, CopyIn, Replace};
use crate::problem::{Loc, Problems};
use crate::source::{self, col, field};
use crate::{Error, Options, Progress, Result, Summary};

/// Where the census cell's position comes from.
enum Position {
    /// `CRS3035RES100mN…E…` / `CRS3035RES1000mN…E…` ids.
    Id(usize),
    /// Centre columns and the cell size they imply.
    Centre { x: usize, y: usize, res: i64 },
}

/// Where the household count comes from.
enum Count {
    Households(usize, Option<usize>),
    PopulationAndSize(usize, usize),
    /// Population only, as the census publishes its 100 m grid
    /// (`Zensus2022_Bevoelkerungszahl_100m-Gitter.csv`).
    Population(usize),
}

/// Persons per household where a file gives population alone: the census
/// 2022 figure for NRW, from its 1 km grid (Σ Einwohner / Σ Einwohner ÷
/// HHGroesse_D over the cells with both = 17,518,444 / 8,169,393), so the
/// 100 m population grid gives the same ~8.2 M households as the 1 km file.
pub const PERSONS_PER_HOUSEHOLD: f64 = 2.1444;

enum Num {
    Value(f64),
    Suppressed,
}

fn num(s: &str, decimal_comma: bool) -> Result<Num, String> {
    match s {
        // -1: suppressed or missing; -9: the census's "not applicable"
        // (e.g. no household size where households are too few).
        "" | "-1" | "-1.0" | "-1,0" | "-9" | "-9.0" | "-9,0" | "–" | "-" | "." | "x" | "X" => return Ok(Num::Suppressed),
        _ => {}
    }
    let owned;
    let t = if decimal_comma && s.contains(',') {
        owned = s.replace(',', ".");
        owned.as_str()
    } else {
        s
    };
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(Num::Value(v)),
        Ok(_) => Err("must be a number ≥ 0 (or -1, – or empty for suppressed)".into()),
        Err(_) => Err("not a number".into()),
    }
}

/// Parse `CRS3035RES100mN3030000E4065000` → (cell size m, north m, east m).
pub fn parse_census_id(s: &str) -> Result<(i64, i64, i64), String> {
    let bad = || "malformed census cell id (expected CRS3035RES100mN…E… or CRS3035RES1000mN…E…)".to_owned();
    let rest = s.strip_prefix("CRS3035RES").ok_or_else(bad)?;
    let (res, rest) = if let Some(r) = rest.strip_prefix("1000mN") {
        (1000, r)
    } else if let Some(r) = rest.strip_prefix("100mN") {
        (100, r)
    } else {
        return Err(bad());
    };
    let (n, e) = rest.split_once('E').ok_or_else(bad)?;
    let digits = |t: &str| (!t.is_empty() && t.len() <= 8 && t.bytes().all(|b| b.is_ascii_digit())).then(|| t.parse::<i64>().ok()).flatten();
    let (n, e) = (digits(n).ok_or_else(bad)?, digits(e).ok_or_else(bad)?);
    if n % res != 0 || e % res != 0 {
        return Err(format!("corner N{n} E{e} is not on the {res} m grid"));
    }
    Ok((res, n, e))
}

#[derive(Default)]
pub(crate) struct Parsed {
    /// (25832 cell key, households, population): while parsing one entry
    /// per (sub-)cell centre in file order, then sorted by key with one
    /// entry per cell. A vector and one sort cost far less than a hash map
    /// of 3.4 M cells (random memory access per row, then again per key).
    cells: Vec<(u64, f64, f64)>,
    rows: u64,
    census_cells: u64,
    suppressed: u64,
    pop_without_size: u64,
    households_total: f64,
    population_known: bool,
    /// Households derived as population / household size.
    from_population: bool,
    /// Households derived as population / [`PERSONS_PER_HOUSEHOLD`].
    population_only: bool,
}

pub(crate) fn parse<R: Read>(csv: &mut source::Csv<R>, file_problems: &mut Problems, progress: &Progress) -> Result<Parsed> {
    let header = csv.header.clone();
    let h = &header;
    let pos = if let Some(i) = col(h, &["GITTER_ID_100m", "GITTER_ID_1km", "Gitter_ID", "cell_id", "id"]) {
        Position::Id(i)
    } else if let (Some(x), Some(y)) = (col(h, &["x_mp_100m"]), col(h, &["y_mp_100m"])) {
        Position::Centre { x, y, res: 100 }
    } else if let (Some(x), Some(y)) = (col(h, &["x_mp_1km"]), col(h, &["y_mp_1km"])) {
        Position::Centre { x, y, res: 1000 }
    } else {
        file_problems.add(Loc::Line(1), "header", h.join(","), "no census cell column: need GITTER_ID_100m / GITTER_ID_1km (CRS3035RES…) or x_mp_100m,y_mp_100m / x_mp_1km,y_mp_1km");
        return Ok(Parsed::default());
    };
    let hh = col(h, &["households", "Haushalte", "Insgesamt_Haushalte", "Anzahl_Haushalte"]);
    let pop = col(h, &["Einwohner", "population", "Insgesamt_Bevoelkerung"]);
    let size = col(h, &["HHGroesse_D", "household_size", "durchschnHHGroesse"]);
    let count = match (hh, pop, size) {
        (Some(c), p, _) => Count::Households(c, p),
        (None, Some(p), Some(s)) => Count::PopulationAndSize(p, s),
        (None, Some(p), None) => Count::Population(p),
        _ => {
            file_problems.add(Loc::Line(1), "header", h.join(","), "no household column: need households (Haushalte) or Einwohner (with HHGroesse_D or alone)");
            return Ok(Parsed::default());
        }
    };
    let mut proj = LaeaLattice::new().map_err(Error::Usage)?;
    let decimal_comma = csv.delimiter == b';';
    let width = h.len();
    let mut out = Parsed {
        population_known: !matches!(count, Count::Households(_, None)),
        from_population: matches!(count, Count::PopulationAndSize(..)),
        population_only: matches!(count, Count::Population(_)),
        ..Parsed::default()
    };
    let mut seen = SeenIds::default();
    let problems = file_problems;
    let mut rows = source::Rows::new(width, progress);
    while let Some((rec, line)) = rows.next(csv, problems) {
        let loc = || Loc::Line(line);
        // Position.
        let (res, n_m, e_m) = match &pos {
            Position::Id(i) => {
                let v = match field(rec, *i) {
                    Ok(v) => v,
                    Err(e) => {
                        problems.add(loc(), &h[*i], "", e);
                        continue;
                    }
                };
                match parse_census_id(v) {
                    Ok(t) => t,
                    Err(e) => {
                        problems.add(loc(), &h[*i], v, e);
                        continue;
                    }
                }
            }
            Position::Centre { x, y, res } => {
                let mut xy = [0i64; 2];
                let mut ok = true;
                for (k, &c) in [*x, *y].iter().enumerate() {
                    let v = field(rec, c).unwrap_or_default();
                    match v.parse::<f64>() {
                        Ok(f) if f.is_finite() && f.fract() == 0.0 && (f as i64 - res / 2) % res == 0 => xy[k] = f as i64,
                        Ok(_) => {
                            problems.add(loc(), &h[c], v, format!("not the centre of a {res} m census cell"));
                            ok = false;
                        }
                        Err(_) => {
                            problems.add(loc(), &h[c], v, "not a number");
                            ok = false;
                        }
                    }
                }
                if !ok {
                    continue;
                }
                (*res, xy[1] - res / 2, xy[0] - res / 2)
            }
        };
        #[allow(clippy::cast_precision_loss)]
        if let Err(e) = Crs::LAEA.check(e_m as f64, n_m as f64) {
            problems.add(loc(), "cell", format!("N{n_m} E{e_m}"), e);
            continue;
        }
        #[allow(clippy::cast_sign_loss)]
        let id_key = (u64::from(res == 1000) << 63) | grid::key((n_m / 100) as i32, (e_m / 100) as i32);
        if !seen.insert(id_key) {
            problems.add(loc(), "cell", format!("CRS3035RES{res}mN{n_m}E{e_m}"), "duplicate census cell in the file");
            continue;
        }
        // Count.
        let get = |c: usize| -> Result<Num, (usize, String, String)> {
            let v = field(rec, c).map_err(|e| (c, String::new(), e))?;
            num(v, decimal_comma).map_err(|e| (c, v.to_owned(), e))
        };
        let parsed = match count {
            Count::Households(c, p) => get(c).and_then(|hv| Ok((hv, p.map(get).transpose()?))),
            Count::PopulationAndSize(p, s) => get(p).and_then(|pv| {
                let sv = get(s)?;
                Ok(match (pv, sv) {
                    (Num::Value(pv), Num::Value(sv)) if pv > 0.0 && sv > 0.0 => (Num::Value(pv / sv), Some(Num::Value(pv))),
                    (Num::Value(0.0), _) => (Num::Value(0.0), Some(Num::Value(0.0))),
                    (Num::Value(pv), _) => {
                        out.pop_without_size += 1;
                        (Num::Suppressed, Some(Num::Value(pv)))
                    }
                    (Num::Suppressed, _) => (Num::Suppressed, None),
                })
            }),
            Count::Population(p) => get(p).map(|pv| match pv {
                Num::Value(v) => (Num::Value(v / PERSONS_PER_HOUSEHOLD), Some(Num::Value(v))),
                Num::Suppressed => (Num::Suppressed, None),
            }),
        };
        let (households, population) = match parsed {
            Ok(t) => t,
            Err((c, v, e)) => {
                problems.add(loc(), &h[c], v, e);
                continue;
            }
        };
        out.census_cells += 1;
        let Num::Value(households) = households else {
            out.suppressed += 1;
            continue;
        };
        let population = match population {
            Some(Num::Value(p)) => p,
            _ => 0.0,
        };
        out.households_total += households;
        // Map onto the 25832 grid: each (sub-)cell centre to the cell containing it.
        let sub = res / 100;
        #[allow(clippy::cast_precision_loss)]
        let share = 1.0 / (sub * sub) as f64;
        for i in 0..sub {
            for j in 0..sub {
                #[allow(clippy::cast_precision_loss)]
                let (x, y) = ((e_m + j * 100 + 50) as f64, (n_m + i * 100 + 50) as f64);
                match proj.project(x, y) {
                    Ok((ue, un)) => {
                        let c = funkplan_model::CellId::containing(ue, un);
                        out.cells.push((grid::key(c.n, c.e), households * share, population * share));
                    }
                    Err(e) => {
                        problems.add(loc(), "cell", format!("N{n_m} E{e_m}"), e);
                    }
                }
            }
        }
    }
    out.rows = rows.count();
    drop(seen);
    // One entry per cell, in key order: (n, e) ascending, the order of the
    // primary key, so the index build after COPY finds its input sorted.
    // Contributions to one cell are summed in file order (the sort is stable).
    out.cells.sort_by_key(|c| c.0);
    out.cells.dedup_by(|later, kept| {
        if later.0 == kept.0 {
            kept.1 += later.1;
            kept.2 += later.2;
            true
        } else {
            false
        }
    });
    out.cells.shrink_to_fit();
    Ok(out)
}

/// Census cell ids seen so far, for the duplicate check. Census files come
/// sorted by cell (the Zensus publishes them so): an id above every earlier
/// one is new without a lookup, and such ids are kept in a sorted `Vec`
/// (8 bytes each, no hashing); only ids out of that order go through a hash
/// set, after a binary search of the sorted ones.
#[derive(Default)]
struct SeenIds {
    sorted: Vec<u64>,
    others: HashSet<u64, FastHash>,
}

impl SeenIds {
    /// `false` when `id` was seen before.
    fn insert(&mut self, id: u64) -> bool {
        if self.sorted.last().is_none_or(|&last| id > last) {
            self.sorted.push(id);
            return true;
        }
        self.sorted.binary_search(&id).is_err() && self.others.insert(id)
    }
}

pub async fn run(tx: &Transaction<'_>, path: &Path, opts: &Options, summary: &mut Summary) -> Result<()> {
    let (reader, digest) = source::open(path)?;
    let file = summary.file.clone();
    let show = opts.progress;
    // Parse on a blocking thread while the grid loads from the database.
    let parse_task = tokio::task::spawn_blocking(move || -> Result<(Parsed, Problems)> {
        let progress = Progress::new("households", show);
        let mut problems = Problems::new(file);
        let Some(mut csv) = source::csv(reader, &mut problems)? else {
            return Ok((Parsed::default(), problems));
        };
        let t = std::time::Instant::now();
        let parsed = parse(&mut csv, &mut problems, &progress)?;
        tracing::debug!(ms = t.elapsed().as_secs_f64() * 1e3, rows = parsed.rows, cells = parsed.cells.len(), "households parsed");
        // Read to the end so the SHA-256 covers the whole file.
        let mut rest = csv.reader.into_inner();
        std::io::copy(&mut rest, &mut std::io::sink()).map_err(Error::io("reading the households file"))?;
        Ok((parsed, problems))
    });
    let t0 = std::time::Instant::now();
    let (parsed, grid) = tokio::join!(parse_task, crate::pgcopy::read_grid(tx));
    tracing::debug!(ms = t0.elapsed().as_secs_f64() * 1e3, "households parsed and grid loaded");
    let (mut parsed, problems) = parsed.map_err(|e| Error::Usage(format!("household parser failed: {e}")))??;
    let grid = grid?;
    summary.sha256 = digest.hex();
    summary.rows = parsed.rows;
    let mut problems = problems;
    if parsed.rows == 0 && problems.is_empty() {
        // Replacing the household grid with nothing would silently zero
        // every household share at the next recompute.
        problems.add(Loc::File, "(rows)", "", "no data rows: the household grid would be emptied; nothing was changed");
    }
    problems.into_result()?;

    let (mut outside_cells, mut outside_households) = (0u64, 0f64);
    let t = std::time::Instant::now();
    let replace = Replace::begin(tx, "household_cell").await?;
    let mut copy = CopyIn::start(tx, &replace.copy_sql("n, e, households, population"), "writing household_cell").await?;
    let mut buf = CopyBuf::new();
    for &(k, h, p) in &parsed.cells {
        let (n, e) = grid::unkey(k);
        if !grid.contains(n, e) {
            outside_cells += 1;
            outside_households += h;
        }
        buf.row(4);
        buf.i32(n);
        buf.i32(e);
        #[allow(clippy::cast_possible_truncation)]
        buf.f32(h as f32);
        #[allow(clippy::cast_possible_truncation)]
        if parsed.population_known {
            buf.f32(p as f32);
        } else {
            buf.null();
        }
        // Encode the next chunk while the server takes in this one.
        if buf.has_full_chunks() {
            copy.flush(&mut buf).await?;
        }
    }
    let written = buf.rows;
    parsed.cells = Vec::new();
    copy.finish(buf).await?;
    tracing::debug!(ms = t.elapsed().as_secs_f64() * 1e3, rows = written, "household_cell copied");
    let swapped = replace.swaps();
    replace.finish(tx).await?;
    summary.inserted = written;

    let d = &mut summary.detail;
    d.insert("census_cells".into(), parsed.census_cells.into());
    d.insert("suppressed".into(), parsed.suppressed.into());
    d.insert("population_without_household_size".into(), parsed.pop_without_size.into());
    d.insert("households_total".into(), parsed.households_total.into());
    d.insert("cells_written".into(), written.into());
    d.insert("grid_cells".into(), grid.len().into());
    d.insert("outside_cells".into(), outside_cells.into());
    d.insert("outside_households".into(), outside_households.into());
    d.insert("replaced".into(), if swapped { "new table swapped in" } else { "in place" }.into());
    summary.notes.push(format!(
        "{:.0} households in {} census cells ({} suppressed) were mapped onto {} cells of the EPSG:25832 100 m grid; \
         household_cell was replaced as a whole.",
        parsed.households_total, parsed.census_cells, parsed.suppressed, written
    ));
    if parsed.from_population {
        summary.notes.push("Where a file gives population and average household size, households = population / size (an approximation).".into());
    }
    if parsed.population_only {
        summary.notes.push(format!(
            "The file gives population only: households = population / {PERSONS_PER_HOUSEHOLD} (census 2022 persons per household in NRW, an approximation)."
        ));
    }
    if parsed.pop_without_size > 0 {
        summary.notes.push(format!("{} cells had population but no household size and count as suppressed.", parsed.pop_without_size));
    }
    summary.notes.push(if grid.is_empty() {
        format!("grid_cell is empty (ingest municipalities first): all {outside_households:.0} households lie outside every municipality.")
    } else {
        format!(
            "{outside_households:.0} households in {outside_cells} cells lie outside every municipality (kept in household_cell, not counted in any municipality)."
        )
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_ids_in_and_out_of_order() {
        let mut s = SeenIds::default();
        for id in [1, 5, 9] {
            assert!(s.insert(id));
        }
        assert!(!s.insert(5), "an earlier in-order id");
        assert!(s.insert(3), "new, out of order");
        assert!(!s.insert(3), "an earlier out-of-order id");
        assert!(!s.insert(9), "the last id again");
        assert!(s.insert(10));
        assert!(!s.insert(1));
    }

    #[test]
    fn census_ids() {
        assert_eq!(parse_census_id("CRS3035RES1000mN3030000E4065000").unwrap(), (1000, 3_030_000, 4_065_000));
        assert_eq!(parse_census_id("CRS3035RES100mN3030100E4065200").unwrap(), (100, 3_030_100, 4_065_200));
        assert!(parse_census_id("CRS3035RES1000mN3030100E4065000").unwrap_err().contains("not on the 1000 m grid"));
        for bad in ["", "CRS3035RES10mN1E1", "CRS3035RES100mN30301E", "100mN58735E4942", "CRS3035RES100mNxE1"] {
            assert!(parse_census_id(bad).is_err(), "{bad}");
        }
    }
}
