//! The parts of GeoJSON the ingest reads (RFC 7946 plus the 2008 `crs`
//! member that VG250 exports and QGIS still write).

use serde_json::Value;

use crate::crs::{Crs, ToUtm32};
use crate::grid::{MultiPolygon, Polygon, Ring};
use crate::problem::{Loc, Problems};

/// The features of a FeatureCollection and the CRS to read them in, or
/// `None` after reporting why the file is not one.
pub fn collection<'a>(doc: &'a Value, cli_crs: Option<Crs>, problems: &mut Problems) -> Option<(&'a Vec<Value>, Crs)> {
    if doc.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        problems.add(Loc::File, "type", short(doc.get("type")), "not a GeoJSON FeatureCollection");
        return None;
    }
    let Some(features) = doc.get("features").and_then(Value::as_array) else {
        problems.add(Loc::File, "features", short(doc.get("features")), "a FeatureCollection needs a `features` array");
        return None;
    };
    let file_crs = match doc.get("crs") {
        None | Some(Value::Null) => None,
        Some(c) => {
            let name = c.get("properties").and_then(|p| p.get("name")).and_then(Value::as_str);
            match name.map(Crs::parse) {
                Some(Ok(crs)) => Some(crs),
                Some(Err(e)) => {
                    problems.add(Loc::File, "crs", name.unwrap_or_default(), e);
                    return None;
                }
                None => {
                    problems.add(Loc::File, "crs", c.to_string(), "`crs` member without `properties.name`");
                    return None;
                }
            }
        }
    };
    let crs = match (file_crs, cli_crs) {
        (Some(f), Some(c)) if f != c => {
            problems.add(Loc::File, "crs", f.to_string(), format!("the file says {f} but --crs says {c}"));
            return None;
        }
        (Some(f), _) => f,
        (None, Some(c)) => c,
        (None, None) => Crs::WGS84,
    };
    Some((features, crs))
}

/// A JSON value shortened for a message.
pub fn short(v: Option<&Value>) -> String {
    match v {
        None => "(missing)".into(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => {
            let s = v.to_string();
            if s.len() > 60 {
                format!("{}…", s.chars().take(60).collect::<String>())
            } else {
                s
            }
        }
    }
}

fn position(v: &Value) -> Option<(f64, f64)> {
    let a = v.as_array()?;
    if a.len() < 2 || a.len() > 3 {
        return None;
    }
    Some((a[0].as_f64()?, a[1].as_f64()?))
}

/// A (Multi)Polygon in EPSG:25832, checking structure, closed rings, ring
/// length and coordinates; reports every problem of the feature.
pub fn multipolygon(geom: Option<&Value>, proj: &ToUtm32, loc: &Loc, problems: &mut Problems) -> Option<MultiPolygon> {
    let Some(g) = geom.filter(|g| !g.is_null()) else {
        problems.add(loc.clone(), "geometry", "(missing)", "feature has no geometry");
        return None;
    };
    let t = g.get("type").and_then(Value::as_str).unwrap_or_default();
    let coords = g.get("coordinates");
    let polys: Vec<&Value> = match (t, coords.and_then(Value::as_array)) {
        ("Polygon", Some(_)) => vec![coords?],
        ("MultiPolygon", Some(ps)) => ps.iter().collect(),
        ("Polygon" | "MultiPolygon", None) => {
            problems.add(loc.clone(), "geometry.coordinates", short(coords), "coordinates must be an array");
            return None;
        }
        _ => {
            problems.add(loc.clone(), "geometry.type", t, "geometry must be a Polygon or MultiPolygon");
            return None;
        }
    };
    let before = problems.total();
    let mut out: MultiPolygon = Vec::with_capacity(polys.len());
    for (pi, p) in polys.iter().enumerate() {
        let Some(rings) = p.as_array().filter(|r| !r.is_empty()) else {
            problems.add(loc.clone(), format!("geometry polygon {}", pi + 1), short(Some(p)), "a polygon needs at least one ring");
            continue;
        };
        let mut poly: Polygon = Vec::with_capacity(rings.len());
        for (ri, r) in rings.iter().enumerate() {
            let field = format!("geometry polygon {} ring {}", pi + 1, ri + 1);
            let Some(pts) = r.as_array() else {
                problems.add(loc.clone(), field, short(Some(r)), "a ring must be an array of positions");
                continue;
            };
            if pts.len() < 4 {
                problems.add(loc.clone(), field, short(Some(r)), format!("a ring needs at least 4 positions, has {}", pts.len()));
                continue;
            }
            let mut ring: Ring = Vec::with_capacity(pts.len());
            let mut ok = true;
            for (k, pt) in pts.iter().enumerate() {
                let Some((x, y)) = position(pt) else {
                    problems.add(loc.clone(), format!("{field} position {}", k + 1), short(Some(pt)), "a position must be [x, y] numbers");
                    ok = false;
                    break;
                };
                match proj.project(x, y) {
                    Ok(p) => ring.push(p),
                    Err(e) => {
                        problems.add(loc.clone(), format!("{field} position {}", k + 1), short(Some(pt)), e);
                        ok = false;
                        break;
                    }
                }
            }
            if !ok {
                continue;
            }
            if position(&pts[0]) != position(&pts[pts.len() - 1]) {
                problems.add(loc.clone(), field, short(Some(&pts[0])), "ring is not closed (first position differs from last)");
                continue;
            }
            // Identical input gives identical output, so closing exactly is safe.
            let first = ring[0];
            if let Some(last) = ring.last_mut() {
                *last = first;
            }
            poly.push(ring);
        }
        out.push(poly);
    }
    if problems.total() == before {
        check_extent(&out, loc, problems);
    }
    (problems.total() == before).then_some(out)
}

/// Largest extent (bounding box) a municipality may have, in km². Germany's
/// largest municipality, Berlin, is 891 km² in a ~1,700 km² box; anything
/// far beyond is a wrong CRS or a stray vertex, and rasterising it into
/// 100 m cells would take minutes, so it is refused up front.
pub const MAX_EXTENT_KM2: f64 = 5_000.0;

fn check_extent(mp: &MultiPolygon, loc: &Loc, problems: &mut Problems) {
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for &(x, y) in mp.iter().flatten().flatten() {
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    let (w, h) = ((x1 - x0) / 1000.0, (y1 - y0) / 1000.0);
    if w * h > MAX_EXTENT_KM2 {
        problems.add(
            loc.clone(),
            "geometry",
            format!("{w:.0} km × {h:.0} km"),
            format!(
                "extent of {:.0} km² is far larger than any municipality (limit {MAX_EXTENT_KM2:.0} km²): wrong CRS or a stray vertex?",
                w * h
            ),
        );
    }
}

/// GeoJSON text of a MultiPolygon (for `ST_GeomFromGeoJSON`).
pub fn multipolygon_json(mp: &MultiPolygon) -> String {
    let coords: Vec<Vec<Vec<[f64; 2]>>> =
        mp.iter().map(|p| p.iter().map(|r| r.iter().map(|&(x, y)| [x, y]).collect()).collect()).collect();
    serde_json::json!({"type": "MultiPolygon", "coordinates": coords}).to_string()
}

/// Parse a MultiPolygon from `ST_AsGeoJSON` output (already in 25832).
pub fn parse_multipolygon(text: &str) -> Option<MultiPolygon> {
    let v: Value = serde_json::from_str(text).ok()?;
    let polys: Vec<&Value> = match v.get("type")?.as_str()? {
        "Polygon" => vec![v.get("coordinates")?],
        "MultiPolygon" => v.get("coordinates")?.as_array()?.iter().collect(),
        _ => return None,
    };
    polys
        .into_iter()
        .map(|p| p.as_array()?.iter().map(|r| r.as_array()?.iter().map(position).collect::<Option<Ring>>()).collect::<Option<Polygon>>())
        .collect()
}
