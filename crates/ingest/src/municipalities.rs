//! `ingest municipalities`: VG250-style GeoJSON → `municipality`, then the
//! 100 m grid (`grid_cell`) rebuilt from every municipality in the table.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use serde_json::Value;
use tokio_postgres::Transaction;

use crate::crs::ToUtm32;
use crate::geojson::{self, short};
use crate::grid::{self, MultiPolygon};
use crate::pgcopy::CopyBuf;
use crate::problem::{Loc, Problems};
use crate::{formats, source, Error, Options, Progress, Result, Summary};

pub(crate) struct Muni {
    idx: i32,
    ags: String,
    name: String,
    kind: Option<String>,
    population: Option<i32>,
    households: Option<f64>,
    synthetic: bool,
    geom: MultiPolygon,
}

fn prop<'a>(props: &'a serde_json::Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|n| props.get(*n)).filter(|v| !v.is_null())
}

pub(crate) fn parse_feature(f: &Value, i: usize, proj: &ToUtm32, opts: &Options, problems: &mut Problems) -> Option<Muni> {
    let loc = Loc::Feature(i as u64 + 1);
    if f.get("type").and_then(Value::as_str) != Some("Feature") {
        problems.add(loc, "type", short(f.get("type")), "not a GeoJSON Feature");
        return None;
    }
    let empty = serde_json::Map::new();
    let props = f.get("properties").and_then(Value::as_object).unwrap_or(&empty);
    let before = problems.total();
    let ags = match prop(props, &["AGS", "ags"]) {
        Some(Value::String(s)) if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) => {
            if let Some(st) = &opts.state {
                if !s.starts_with(st.as_str()) {
                    problems.add(loc.clone(), "AGS", s.clone(), format!("AGS outside state {st} (--state {st})"));
                }
            }
            s.clone()
        }
        Some(Value::String(s)) => {
            problems.add(loc.clone(), "AGS", s.clone(), "AGS must be exactly 8 digits");
            String::new()
        }
        Some(Value::Number(n)) => {
            problems.add(loc.clone(), "AGS", n.to_string(), "AGS must be a string of 8 digits (a number loses the leading zero)");
            String::new()
        }
        other => {
            problems.add(loc.clone(), "AGS", short(other), "missing AGS (8-digit official municipality key)");
            String::new()
        }
    };
    let name = match prop(props, &["GEN", "gen", "name"]) {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        other => {
            problems.add(loc.clone(), "GEN", short(other), "missing name (GEN)");
            String::new()
        }
    };
    let kind = match prop(props, &["BEZ", "bez"]) {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => {
            problems.add(loc.clone(), "BEZ", v.to_string(), "BEZ must be a string");
            None
        }
    };
    let population = match prop(props, &["EWZ", "ewz", "population"]) {
        None => None,
        Some(v) => match v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())).and_then(|n| i32::try_from(n).ok()) {
            Some(n) if n >= 0 => Some(n),
            _ => {
                problems.add(loc.clone(), "EWZ", short(Some(v)), "population (EWZ) must be a whole number ≥ 0");
                None
            }
        },
    };
    let households = match prop(props, &["households", "Haushalte", "HH"]) {
        None => None,
        Some(v) => match v.as_f64() {
            Some(h) if h.is_finite() && h >= 0.0 => Some(h),
            _ => {
                problems.add(loc.clone(), "households", short(Some(v)), "households must be a number ≥ 0");
                None
            }
        },
    };
    let synthetic = match prop(props, &["synthetic"]) {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            problems.add(loc.clone(), "synthetic", v.to_string(), "synthetic must be true or false");
            false
        }
    };
    let geom = geojson::multipolygon(f.get("geometry"), proj, &loc, problems);
    if problems.total() != before {
        return None;
    }
    Some(Muni { idx: i32::try_from(i + 1).unwrap_or(i32::MAX), ags, name, kind, population, households, synthetic, geom: geom? })
}

pub async fn run(tx: &Transaction<'_>, path: &Path, opts: &Options, summary: &mut Summary) -> Result<()> {
    let progress = Progress::new("municipalities", opts.progress);
    // GeoPackage and Shapefile (issue 15) arrive as GeoJSON-shaped features.
    let (features, crs, mut problems) = match formats::read_features(path, opts)? {
        Some(f) => {
            summary.sha256 = f.sha256;
            summary.file.clone_from(&f.name);
            (f.features, f.crs, Problems::new(f.name))
        }
        None => {
            if let Some(layer) = &opts.layer {
                return Err(Error::Usage(format!("--layer {layer}: only a GeoPackage or a zip of shapefiles has layers")));
            }
            let (bytes, sha) = source::read_all(path)?;
            summary.sha256 = sha;
            let mut problems = Problems::new(summary.file.clone());
            let mut doc: Value = match serde_json::from_slice(&bytes) {
                Ok(v) => v,
                Err(e) => {
                    problems.add(Loc::File, "(json)", format!("line {} column {}", e.line(), e.column()), format!("malformed JSON: {e}"));
                    return problems.into_result();
                }
            };
            drop(bytes);
            let Some((_, crs)) = geojson::collection(&doc, opts.crs, &mut problems) else {
                return problems.into_result();
            };
            let features = match doc.get_mut("features") {
                Some(Value::Array(a)) => std::mem::take(a),
                _ => Vec::new(),
            };
            (features, crs, problems)
        }
    };
    let proj = ToUtm32::new(crs).map_err(Error::Usage)?;
    summary.rows = features.len() as u64;
    summary.detail.insert("crs".into(), crs.to_string().into());
    let mut munis = Vec::with_capacity(features.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, f) in features.iter().enumerate() {
        progress.inc(1);
        if let Some(m) = parse_feature(f, i, &proj, opts, &mut problems) {
            if let Some(first) = seen.insert(m.ags.clone(), i + 1) {
                problems.add(Loc::Feature(i as u64 + 1), "AGS", m.ags.clone(), format!("duplicate AGS: also in feature {first}"));
                continue;
            }
            munis.push(m);
        }
    }
    if features.is_empty() {
        problems.add(Loc::File, "features", "[]", "the FeatureCollection has no features");
    }
    if !problems.is_empty() {
        return problems.into_result();
    }

    progress.stage("checking geometries");
    tx.batch_execute(include_str!("../sql/muni_stage.sql")).await.map_err(Error::pg("creating the municipality staging table"))?;
    let ins = tx.prepare(include_str!("../sql/muni_stage_insert.sql")).await.map_err(Error::pg("preparing the staging insert"))?;
    for m in &munis {
        let gj = geojson::multipolygon_json(&m.geom);
        tx.execute(&ins, &[&m.idx, &m.ags, &m.name, &m.kind, &m.population, &m.households, &m.synthetic, &gj])
            .await
            .map_err(Error::pg("staging a municipality"))?;
    }
    drop(munis);
    if opts.make_valid {
        let rows = tx.query(include_str!("../sql/muni_make_valid.sql"), &[]).await.map_err(Error::pg("repairing geometries"))?;
        for r in &rows {
            const W: &str = "repairing geometries";
            let (idx, ags, empty): (i32, String, bool) = (crate::col(r, "idx", W)?, crate::col(r, "ags", W)?, crate::col(r, "empty", W)?);
            if empty {
                problems.add(Loc::Feature(u64::try_from(idx).unwrap_or(0)), "geometry", ags, "ST_MakeValid left no polygon");
            }
        }
        summary.detail.insert("repaired".into(), rows.len().into());
        if !rows.is_empty() {
            summary.notes.push(format!("{} invalid geometries were repaired with ST_MakeValid (--make-valid).", rows.len()));
        }
    } else {
        for r in tx.query(include_str!("../sql/muni_invalid.sql"), &[]).await.map_err(Error::pg("checking geometries"))? {
            const W: &str = "checking geometries";
            let (idx, ags, reason): (i32, String, String) = (crate::col(&r, "idx", W)?, crate::col(&r, "ags", W)?, crate::col(&r, "reason", W)?);
            problems.add(
                Loc::Feature(u64::try_from(idx).unwrap_or(0)),
                "geometry",
                ags,
                format!("invalid geometry: {reason} (--make-valid repairs it with ST_MakeValid)"),
            );
        }
    }
    if !problems.is_empty() {
        return problems.into_result();
    }

    progress.stage("writing municipalities");
    let rows = tx.query(include_str!("../sql/muni_upsert.sql"), &[]).await.map_err(Error::pg("upserting municipalities"))?;
    let (inserted, updated) = crate::split_counts(&rows)?;
    summary.inserted = inserted;
    summary.updated = updated;
    summary.unchanged = summary.rows.saturating_sub(inserted + updated);

    progress.stage("rebuilding the 100 m grid");
    let g = rebuild_grid(tx).await?;
    summary.detail.insert("grid_cells".into(), g.cells.into());
    summary.detail.insert("grid_ms".into(), g.ms.into());
    summary.detail.insert("grid_cells_claimed_twice".into(), g.overlaps.into());
    summary.notes.push(format!(
        "The 100 m grid was rebuilt from all {} municipalities in the database: {} cells ({:.0} ms).",
        g.municipalities, g.cells, g.ms
    ));
    if g.overlaps > 0 {
        summary.notes.push(format!(
            "{} cell centres lay in more than one municipality (overlapping borders) and went to the lowest AGS.",
            g.overlaps
        ));
    }
    Ok(())
}

struct GridStats {
    municipalities: usize,
    cells: u64,
    overlaps: u64,
    ms: f64,
}

/// Rebuild `grid_cell` from every municipality in the table: each 100 m cell
/// of EPSG:25832 whose centre lies in a municipality, by scanline in Rust,
/// then binary `COPY` into a new table swapped in for the old one (`pgcopy::Replace`:
/// readers of grid_cell do not wait for the load), in the ingest's transaction.
///
/// Rasterising all municipalities (not only the file's) keeps grid_cell equal
/// to the municipality table whatever was ingested before.
async fn rebuild_grid(tx: &Transaction<'_>) -> Result<GridStats> {
    let t = Instant::now();
    let rows = tx.query(include_str!("../sql/muni_all.sql"), &[]).await.map_err(Error::pg("reading municipality geometries"))?;
    let mut agss: Vec<String> = Vec::with_capacity(rows.len());
    let mut geoms: Vec<MultiPolygon> = Vec::with_capacity(rows.len());
    for r in &rows {
        let ags: String = crate::col(r, "ags", "reading municipality geometries")?;
        let text: String = crate::col(r, "geojson", "reading municipality geometries")?;
        let mp = geojson::parse_multipolygon(&text)
            .ok_or_else(|| Error::Usage(format!("municipality {ags}: cannot read its geometry back from PostGIS")))?;
        agss.push(ags);
        geoms.push(mp);
    }
    drop(rows);
    let (keys, overlaps) = tokio::task::spawn_blocking(move || {
        // key << 16 | municipality index: sorting puts each cell's lowest AGS first.
        let mut keys: Vec<(u64, u32)> = Vec::new();
        for (i, mp) in geoms.iter().enumerate() {
            let idx = u32::try_from(i).unwrap_or(u32::MAX);
            grid::rasterise(mp, |n, e| keys.push((grid::key(n, e), idx)));
        }
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup_by_key(|k| k.0);
        let overlaps = (before - keys.len()) as u64;
        (keys, overlaps)
    })
    .await
    .map_err(|e| Error::Usage(format!("grid rasterisation failed: {e}")))?;

    let mut buf = CopyBuf::new();
    for &(k, idx) in &keys {
        let (n, e) = grid::unkey(k);
        buf.row(3);
        buf.i32(n);
        buf.i32(e);
        buf.text(&agss[idx as usize]);
    }
    let cells = keys.len() as u64;
    drop(keys);
    tracing::debug!(ms = t.elapsed().as_secs_f64() * 1e3, cells, "grid rasterised");
    crate::pgcopy::replace_table(tx, "grid_cell", "n, e, ags", buf, "writing grid_cell").await?;
    Ok(GridStats { municipalities: agss.len(), cells, overlaps, ms: t.elapsed().as_secs_f64() * 1000.0 })
}
