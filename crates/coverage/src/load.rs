//! Reading the grid, the model and the sites from PostgreSQL.
//!
//! The three big tables come in one streaming read each, concurrently on
//! separate connections, as binary COPY parsed straight from the wire
//! buffers: no `Row` objects, no per-row allocation.

use std::collections::HashMap;

use chrono::NaiveDate;
use futures_util::StreamExt;
use funkplan_db::{Db, Error as DbError};
use tokio_postgres::Client;

use funkplan_model::{MeasureKind, SiteStatus, Technology};

use crate::grid::{Grid, GridInput, Mask, MAX_BIT, TECHNOLOGIES, UNKNOWN};
use crate::model::{Model, Site};
use crate::releases::{CellValue, Version};
use crate::row::col;
use crate::{Error, Result};

/// Stream a binary COPY, calling `on_row` with each tuple's fields (`None`
/// = NULL).
async fn copy_binary<F>(client: &Client, sql: &str, what: &'static str, mut on_row: F) -> Result<u64>
where
    F: FnMut(&[Option<&[u8]>]) -> Result<()>,
{
    let stream = client.copy_out(sql).await.map_err(DbError::pg(what))?;
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

/// Load the dense grid: municipalities, cells, households and reported
/// coverage.
///
/// Why one spawned task per table: the three COPY streams are bound by
/// PostgreSQL's per-row output and by the client's per-message parsing;
/// on separate tasks the parsing runs on every core of the runtime (on one
/// task, `try_join!` polled all three from one thread).
#[tracing::instrument(skip_all)]
pub async fn grid(db: &Db) -> Result<Grid> {
    let t0 = std::time::Instant::now();
    let (c1, c2, c3) = tokio::try_join!(db.conn(), db.conn(), db.conn())?;
    let ags: Vec<String> = c1
        .query(include_str!("../sql/municipalities.sql"), &[])
        .await
        .map_err(DbError::pg("reading municipalities"))?
        .iter()
        .map(|r| col(r, "ags", "reading municipalities"))
        .collect::<Result<_>>()?;
    let by_key: HashMap<[u8; 8], u16> = ags
        .iter()
        .enumerate()
        .filter_map(|(i, a)| Some((ags_key(a.as_bytes())?, u16::try_from(i).ok()?)))
        .collect();
    let cells = tokio::spawn(async move {
        let t = std::time::Instant::now();
        let mut out = Vec::with_capacity(3_600_000);
        let mut unknown = 0u64;
        let mut last = ([0u8; 8], u16::MAX);
        copy_binary(&c1, include_str!("../sql/copy_grid_cells.sql"), "reading grid_cell", |f| {
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
                None => unknown += 1,
            }
            Ok(())
        })
        .await?;
        if unknown > 0 {
            tracing::warn!(cells = unknown, "grid cells of unknown municipalities ignored");
        }
        tracing::debug!(rows = out.len(), ms = t.elapsed().as_secs_f64() * 1e3, "grid_cell read");
        Ok::<_, Error>(out)
    });
    let households = tokio::spawn(async move {
        let t = std::time::Instant::now();
        let mut out = Vec::with_capacity(3_600_000);
        copy_binary(&c2, include_str!("../sql/copy_households.sql"), "reading household_cell", |f| {
            if let (Some(n), Some(e), Some(h)) = (int4(f[0]), int4(f[1]), float4(f[2])) {
                out.push((n, e, h));
            }
            Ok(())
        })
        .await?;
        tracing::debug!(rows = out.len(), ms = t.elapsed().as_secs_f64() * 1e3, "household_cell read");
        Ok::<_, Error>(out)
    });
    let reported = tokio::spawn(async move {
        let t = std::time::Instant::now();
        let mut out = Vec::new();
        copy_binary(&c3, include_str!("../sql/copy_reported.sql"), "reading reported_coverage", |f| {
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
        let (dates, versions) = releases(&c3, out.len()).await?;
        Ok::<_, Error>((out, dates, versions))
    });
    let (cells, households, (reported, release_dates, versions)) =
        tokio::try_join!(joined(cells), joined(households), joined(reported))?;
    let t_read = t0.elapsed().as_secs_f64() * 1e3;
    let grid = crate::cpu(|| Grid::build(GridInput { ags, cells, households, reported, release_dates, versions }))?;
    tracing::debug!(read_ms = t_read, build_ms = t0.elapsed().as_secs_f64() * 1e3 - t_read, "grid built");
    Ok(grid)
}

/// The release dates and the versions that tell older releases apart
/// from the latest (see [`crate::releases`]).
#[tracing::instrument(skip_all)]
async fn releases(c: &Client, reported_rows: usize) -> Result<(Vec<NaiveDate>, Vec<Version>)> {
    const WHAT: &str = "reading coverage releases";
    let t = std::time::Instant::now();
    let rows = c.query(include_str!("../sql/release_dates.sql"), &[]).await.map_err(DbError::pg(WHAT))?;
    let dates: Vec<NaiveDate> = rows.iter().map(|r| col(r, "as_of", WHAT)).collect::<Result<_>>()?;
    if let Some(last) = rows.last() {
        // The ingest keeps reported_coverage equal to the latest release; if
        // it is not, "now" and the dated figures disagree: say so loudly.
        let cells: i64 = col(last, "cells", WHAT)?;
        if usize::try_from(cells).ok() != Some(reported_rows) {
            tracing::warn!(
                latest_release = %dates[dates.len() - 1],
                release_cells = cells,
                reported_rows,
                "reported_coverage does not hold the latest coverage release; figures for past dates may disagree with now"
            );
        }
    }
    let mut versions = Vec::new();
    if dates.len() > 1 {
        copy_binary(c, include_str!("../sql/copy_versions.sql"), "reading reported_coverage_version", |f| {
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
