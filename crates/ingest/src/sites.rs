//! `ingest sites`: mobile sites from CSV or GeoJSON points → `site`.
//!
//! CSV columns: `site_id, operator, lon, lat` (WGS84; or `x, y` with
//! `--crs`), `status`, optional `technologies` (`lte`, `5g`, separated by
//! `;` or `|`), `planned_date`, `on_air_date` (YYYY-MM-DD), `synthetic`.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;

use funkplan_model::{check_on_air_date, DateField, Lifecycle, SiteId, SiteStatus, Technology, ID_RULE};
use serde_json::Value;
use tokio_postgres::Transaction;

use crate::crs::{Crs, ToUtm32};
use crate::geojson::{self, short};
use crate::pgcopy::CopyBuf;
use crate::problem::{Loc, Problems};
use crate::source::{self, col, field};
use crate::{Error, Options, Progress, Result, Summary};

const COLUMNS: &[&str] = &["site_id", "operator", "lon", "lat", "x", "y", "status", "technologies", "planned_date", "on_air_date", "synthetic"];

pub(crate) struct Site {
    line: u64,
    site_id: String,
    operator: String,
    x: f64,
    y: f64,
    status: SiteStatus,
    technologies: Vec<&'static str>,
    planned_date: Option<chrono::NaiveDate>,
    on_air_date: Option<chrono::NaiveDate>,
    synthetic: bool,
}

/// Raw text values of one site, from either format.
struct Raw<'a> {
    site_id: &'a str,
    operator: &'a str,
    status: &'a str,
    technologies: Vec<String>,
    planned_date: &'a str,
    on_air_date: &'a str,
    synthetic: &'a str,
}

pub(crate) async fn operators(tx: &Transaction<'_>) -> Result<HashMap<String, i16>> {
    let rows = tx.query("SELECT id, bit FROM operator", &[]).await.map_err(Error::pg("reading operators"))?;
    rows.iter().map(|r| Ok((crate::col(r, "id", "reading operators")?, crate::col(r, "bit", "reading operators")?))).collect()
}

pub(crate) fn parse_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "" | "false" | "0" | "no" => Ok(false),
        "true" | "1" | "yes" => Ok(true),
        _ => Err("must be true or false".into()),
    }
}

#[allow(clippy::too_many_arguments)]
fn check(
    raw: &Raw<'_>,
    loc: &Loc,
    xy: Result<(f64, f64), (String, String, String)>,
    ops: &HashMap<String, i16>,
    today: chrono::NaiveDate,
    problems: &mut Problems,
    line: u64,
    seen: &mut HashMap<String, Loc>,
) -> Option<Site> {
    let before = problems.total();
    if let Some(first) = seen.insert(raw.site_id.to_owned(), loc.clone()) {
        problems.add(loc.clone(), "site_id", raw.site_id, format!("duplicate site_id: also at {first}"));
    }
    if SiteId::check(raw.site_id).is_err() {
        problems.add(loc.clone(), "site_id", raw.site_id, format!("site_id must be {ID_RULE}"));
    }
    if raw.operator.is_empty() {
        problems.add(loc.clone(), "operator", raw.operator, "missing operator");
    } else if !ops.contains_key(raw.operator) {
        let mut known: Vec<&str> = ops.keys().map(String::as_str).collect();
        known.sort_unstable();
        problems.add(loc.clone(), "operator", raw.operator, format!("unknown operator (known: {})", known.join(", ")));
    }
    let status = match SiteStatus::from_str(raw.status) {
        Ok(s) => Some(s),
        Err(e) => {
            problems.add(loc.clone(), "status", raw.status, e.to_string());
            None
        }
    };
    let mut technologies: Vec<&'static str> = Vec::new();
    for t in &raw.technologies {
        match Technology::from_str(t) {
            Ok(t) => {
                if !technologies.contains(&t.as_str()) {
                    technologies.push(t.as_str());
                }
            }
            Err(e) => problems.add(loc.clone(), "technologies", t.clone(), e.to_string()),
        }
    }
    // The order the database keeps (the completion trigger sorts), so a
    // re-ingest compares equal.
    technologies.sort_unstable();
    let mut dates = [None, None];
    for (k, (field, v)) in [(DateField::Planned, raw.planned_date), (DateField::OnAir, raw.on_air_date)].into_iter().enumerate() {
        match source::date(v, field, today) {
            Ok(d) => dates[k] = d,
            Err(e) => problems.add(loc.clone(), field.name(), v, e),
        }
    }
    if let Some(s) = status {
        if !s.has_been_on_air() && !technologies.is_empty() {
            problems.add(loc.clone(), "technologies", raw.technologies.join(";"), format!("a {s} site has no technology on air yet"));
        }
        if let Err(e) = check_on_air_date(s, dates[1]) {
            problems.add(loc.clone(), "on_air_date", raw.on_air_date, e.reason());
        }
    }
    let synthetic = match parse_bool(raw.synthetic) {
        Ok(b) => b,
        Err(e) => {
            problems.add(loc.clone(), "synthetic", raw.synthetic, e);
            false
        }
    };
    let (x, y) = match xy {
        Ok(p) => p,
        Err((f, v, e)) => {
            problems.add(loc.clone(), f, v, e);
            (0.0, 0.0)
        }
    };
    if problems.total() != before {
        return None;
    }
    Some(Site {
        line,
        site_id: raw.site_id.to_owned(),
        operator: raw.operator.to_owned(),
        x,
        y,
        status: status?,
        technologies,
        planned_date: dates[0],
        on_air_date: dates[1],
        synthetic,
    })
}

fn split_list(s: &str) -> Vec<String> {
    s.split([';', '|', ','].as_ref()).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect()
}

pub(crate) fn read_csv(path: &Path, opts: &Options, ops: &HashMap<String, i16>, problems: &mut Problems, progress: &Progress) -> Result<(Vec<Site>, String)> {
    let (reader, digest) = source::open(path)?;
    let Some(mut csv) = source::csv(reader, problems)? else {
        return Ok((Vec::new(), digest.hex()));
    };
    let h = csv.header.clone();
    for name in &h {
        if !COLUMNS.iter().any(|c| c.eq_ignore_ascii_case(name)) {
            problems.add(Loc::Line(1), name.clone(), name.clone(), format!("unknown column (known: {})", COLUMNS.join(", ")));
        }
    }
    let need = |names: &[&str], problems: &mut Problems| {
        let c = col(&h, names);
        if c.is_none() {
            problems.add(Loc::Line(1), names[0], "", "missing column");
        }
        c
    };
    let c_id = need(&["site_id"], problems);
    let c_op = need(&["operator"], problems);
    let c_status = need(&["status"], problems);
    let (c_x, c_y, crs) = match (col(&h, &["lon"]), col(&h, &["lat"]), col(&h, &["x"]), col(&h, &["y"])) {
        (Some(a), Some(b), None, None) => (Some(a), Some(b), opts.crs.unwrap_or(Crs::WGS84)),
        (None, None, Some(a), Some(b)) => match opts.crs {
            Some(c) => (Some(a), Some(b), c),
            None => {
                problems.add(Loc::Line(1), "x", "", "x/y columns need --crs EPSG:n (lon/lat columns are WGS84)");
                (None, None, Crs::UTM32)
            }
        },
        _ => {
            problems.add(Loc::Line(1), "lon", h.join(","), "need either lon,lat or x,y columns");
            (None, None, Crs::WGS84)
        }
    };
    if !problems.is_empty() {
        return Ok((Vec::new(), digest.hex()));
    }
    let (Some(c_id), Some(c_op), Some(c_status), Some(c_x), Some(c_y)) = (c_id, c_op, c_status, c_x, c_y) else {
        return Ok((Vec::new(), digest.hex()));
    };
    let (c_tech, c_pd, c_od, c_syn) = (col(&h, &["technologies"]), col(&h, &["planned_date"]), col(&h, &["on_air_date"]), col(&h, &["synthetic"]));
    let proj = ToUtm32::new(crs).map_err(Error::Usage)?;
    let today = opts.today();
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    let mut rows = source::Rows::new(h.len(), progress);
    while let Some((rec, line)) = rows.next(&mut csv, problems) {
        let loc = Loc::Line(line);
        let get = |c: Option<usize>| c.map_or(Ok(""), |c| field(rec, c));
        let mut utf8_bad = false;
        let mut val = |c: Option<usize>, problems: &mut Problems| match get(c) {
            Ok(v) => v,
            Err(e) => {
                utf8_bad = true;
                problems.add(loc.clone(), c.map_or("", |c| h[c].as_str()), "", e);
                ""
            }
        };
        let raw = Raw {
            site_id: val(Some(c_id), problems),
            operator: val(Some(c_op), problems),
            status: val(Some(c_status), problems),
            technologies: split_list(val(c_tech, problems)),
            planned_date: val(c_pd, problems),
            on_air_date: val(c_od, problems),
            synthetic: val(c_syn, problems),
        };
        let (xs, ys) = (val(Some(c_x), problems), val(Some(c_y), problems));
        if utf8_bad {
            continue;
        }
        let xy = match (xs.parse::<f64>(), ys.parse::<f64>()) {
            (Ok(x), Ok(y)) => {
                // Name the coordinate that is off, when one clearly is.
                let (x0, y0, x1, y1) = crs.valid_area();
                let name = if !x.is_finite() || x < x0 || x > x1 { &h[c_x] } else if !y.is_finite() || y < y0 || y > y1 { &h[c_y] } else { &h[c_x] };
                let value = if name == &h[c_y] { ys.to_owned() } else { xs.to_owned() };
                proj.project(x, y).map_err(|e| (name.clone(), value, e))
            }
            (Err(_), _) => Err((h[c_x].clone(), xs.to_owned(), "not a number".to_owned())),
            (_, Err(_)) => Err((h[c_y].clone(), ys.to_owned(), "not a number".to_owned())),
        };
        if let Some(s) = check(&raw, &loc, xy, ops, today, problems, line, &mut seen) {
            out.push(s);
        }
    }
    Ok((out, digest.hex()))
}

pub(crate) fn read_geojson(path: &Path, opts: &Options, ops: &HashMap<String, i16>, problems: &mut Problems, progress: &Progress) -> Result<(Vec<Site>, String)> {
    let (bytes, sha) = source::read_all(path)?;
    let doc: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            problems.add(Loc::File, "(json)", format!("line {} column {}", e.line(), e.column()), format!("malformed JSON: {e}"));
            return Ok((Vec::new(), sha));
        }
    };
    let Some((features, crs)) = geojson::collection(&doc, opts.crs, problems) else {
        return Ok((Vec::new(), sha));
    };
    let proj = ToUtm32::new(crs).map_err(Error::Usage)?;
    let today = opts.today();
    let empty = serde_json::Map::new();
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    for (i, f) in features.iter().enumerate() {
        progress.inc(1);
        let n = i as u64 + 1;
        let loc = Loc::Feature(n);
        let props = f.get("properties").and_then(Value::as_object).unwrap_or(&empty);
        let s = |k: &str| -> String {
            match props.get(k) {
                Some(Value::String(s)) => s.trim().to_owned(),
                Some(Value::Bool(b)) => b.to_string(),
                Some(Value::Number(x)) => x.to_string(),
                _ => String::new(),
            }
        };
        let technologies = match props.get("technologies") {
            Some(Value::Array(a)) => a.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)).collect(),
            Some(Value::String(t)) => split_list(t),
            _ => Vec::new(),
        };
        let (site_id, operator, status, pd, od, syn) = (s("site_id"), s("operator"), s("status"), s("planned_date"), s("on_air_date"), s("synthetic"));
        let raw = Raw { site_id: &site_id, operator: &operator, status: &status, technologies, planned_date: &pd, on_air_date: &od, synthetic: &syn };
        let g = f.get("geometry");
        let xy = match g.and_then(|g| g.get("type")).and_then(Value::as_str) {
            Some("Point") => {
                let c = g.and_then(|g| g.get("coordinates")).and_then(Value::as_array);
                match c.and_then(|c| match c.as_slice() {
                    [x, y, ..] => Some((x.as_f64()?, y.as_f64()?)),
                    _ => None,
                }) {
                    Some((x, y)) => proj.project(x, y).map_err(|e| ("geometry".to_owned(), format!("{x}, {y}"), e)),
                    None => Err(("geometry.coordinates".to_owned(), short(g.and_then(|g| g.get("coordinates"))), "a Point needs [x, y] numbers".to_owned())),
                }
            }
            _ => Err(("geometry.type".to_owned(), short(g.and_then(|g| g.get("type"))), "site geometry must be a Point".to_owned())),
        };
        if let Some(s) = check(&raw, &loc, xy, ops, today, problems, n, &mut seen) {
            out.push(s);
        }
    }
    Ok((out, sha))
}

pub async fn run(tx: &Transaction<'_>, path: &Path, opts: &Options, summary: &mut Summary) -> Result<()> {
    let progress = Progress::new("sites", opts.progress);
    let ops = operators(tx).await?;
    let mut problems = Problems::new(summary.file.clone());
    let is_json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("geojson") || e.eq_ignore_ascii_case("json"));
    let (sites, sha) = if is_json {
        read_geojson(path, opts, &ops, &mut problems, &progress)?
    } else {
        read_csv(path, opts, &ops, &mut problems, &progress)?
    };
    summary.sha256 = sha;
    let loc_of = |line: u64| if is_json { Loc::Feature(line) } else { Loc::Line(line) };
    summary.rows = sites.len() as u64;
    if !problems.is_empty() {
        return problems.into_result();
    }
    tx.batch_execute(include_str!("../sql/site_stage.sql")).await.map_err(Error::pg("creating the site staging table"))?;
    let mut buf = CopyBuf::new();
    for s in &sites {
        buf.row(10);
        buf.i64(i64::try_from(s.line).unwrap_or(i64::MAX));
        buf.text(&s.site_id);
        buf.text(&s.operator);
        buf.f64(s.x);
        buf.f64(s.y);
        buf.text(s.status.as_str());
        buf.text_array(&s.technologies);
        buf.date(s.planned_date);
        buf.date(s.on_air_date);
        buf.bool(s.synthetic);
    }
    buf.send(tx, "COPY ingest_site_stage FROM STDIN (FORMAT binary)", "staging sites").await?;
    for r in tx.query(include_str!("../sql/site_status_changes.sql"), &[]).await.map_err(Error::pg("checking status changes"))? {
        const W: &str = "checking status changes";
        let (line, id, old, new): (i64, String, String, String) =
            (crate::col(&r, "line", W)?, crate::col(&r, "site_id", W)?, crate::col(&r, "old_status", W)?, crate::col(&r, "new_status", W)?);
        let (Ok(o), Ok(n)) = (SiteStatus::from_str(&old), SiteStatus::from_str(&new)) else { continue };
        if let Err(e) = o.transition(n) {
            problems.add(
                loc_of(u64::try_from(line).unwrap_or(0)),
                "status",
                new,
                format!("site {id} is {old} in the database and cannot go back to {n} (allowed: {})", e.allowed_words("none")),
            );
        }
    }
    let margin = opts.site_margin_m.unwrap_or(funkplan_model::DEFAULT_SITE_MARGIN_M);
    let outside = tx.query(include_str!("../sql/site_outside.sql"), &[&margin]).await.map_err(Error::pg("locating sites"))?;
    for r in outside {
        const W: &str = "locating sites";
        let (line, distance): (i64, f64) = (crate::col(&r, "line", W)?, crate::col(&r, "distance", W)?);
        let (lon, lat): (f64, f64) = (crate::col(&r, "lon", W)?, crate::col(&r, "lat", W)?);
        problems.add(
            loc_of(u64::try_from(line).unwrap_or(0)),
            "position",
            format!("lon {lon:.5}, lat {lat:.5}"),
            format!(
                "lies {:.1} km from the nearest loaded municipality; sites must lie within {:.1} km of them (--site-margin-m)",
                distance / 1000.0,
                margin / 1000.0
            ),
        );
    }
    problems.into_result()?;
    progress.stage("writing sites");
    let rows = tx.query(include_str!("../sql/site_upsert.sql"), &[]).await.map_err(Error::pg("upserting sites"))?;
    let (inserted, updated) = crate::split_counts(&rows)?;
    summary.inserted = inserted;
    summary.updated = updated;
    summary.unchanged = summary.rows.saturating_sub(inserted + updated);
    let outside: i64 = tx
        .query_one("SELECT count(*) AS outside FROM site s JOIN ingest_site_stage st USING (site_id) WHERE s.ags IS NULL", &[])
        .await
        .and_then(|r| r.try_get("outside"))
        .map_err(Error::pg("counting sites outside municipalities"))?;
    summary.detail.insert("outside_municipalities".into(), outside.into());
    if outside > 0 {
        summary.notes.push(format!("{outside} sites lie outside every municipality (ags is empty)."));
    }
    Ok(())
}
