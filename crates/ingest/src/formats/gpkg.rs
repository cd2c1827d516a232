//! GeoPackage (OGC 12-128r18) through SQLite (`rusqlite`, SQLite compiled
//! in with the `bundled` feature so no system library is needed).
//!
//! Geometry blobs are a GeoPackage header followed by WKB. They are decoded
//! here by hand (a few dozen lines for the header and (Multi)Polygon WKB)
//! rather than with geozero's `with-gpkg`, which would pull in sqlx and an
//! async SQLite driver beside rusqlite for the same job.

use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde_json::{json, Map, Value};
use sha2::Digest;

use super::{choose_crs, refusal, Features};
use crate::problem::{Loc, Problems};
use crate::{source, Crs, Error, Options, Result};

/// A feature table of the GeoPackage.
struct Layer {
    table: String,
    column: String,
    geometry_type: String,
    srs_id: i64,
}

fn layers(db: &Connection) -> rusqlite::Result<Vec<Layer>> {
    let mut st = db.prepare(include_str!("../../sql/gpkg_layers.sql"))?;
    let rows = st.query_map([], |r| {
        Ok(Layer {
            table: r.get("table_name")?,
            column: r.get("column_name")?,
            geometry_type: r.get("geometry_type_name")?,
            srs_id: r.get("srs_id")?,
        })
    })?;
    rows.collect()
}

fn columns(db: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut st = db.prepare(include_str!("../../sql/gpkg_columns.sql"))?;
    let rows = st.query_map([table], |r| r.get::<_, String>("name"))?;
    rows.collect()
}

/// Quote an SQLite identifier (the layer name comes from the file itself,
/// checked against `gpkg_geometry_columns`; quoting keeps any name safe).
fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn describe(ls: &[Layer]) -> String {
    if ls.is_empty() {
        return "it has no feature layers".into();
    }
    let names: Vec<String> = ls.iter().map(|l| format!("{} ({})", l.table, l.geometry_type.to_ascii_lowercase())).collect();
    format!("its layers: {}", names.join(", "))
}

pub(super) fn read(path: &Path, opts: &Options) -> Result<Features> {
    let file = source::display_name(path);
    let bytes = std::fs::read(path).map_err(Error::io(format!("reading {}", path.display())))?;
    let sha256 = hex::encode(sha2::Sha256::digest(&bytes));
    drop(bytes);
    let db = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| refusal(&file, "(gpkg)", "", format!("cannot open the GeoPackage: {e}")))?;
    let sql_err = |what: &str| {
        let (file, what) = (file.clone(), what.to_owned());
        move |e: rusqlite::Error| refusal(&file, "(gpkg)", "", format!("{what}: {e} (not a GeoPackage, or damaged)"))
    };
    let all = layers(&db).map_err(sql_err("reading gpkg_geometry_columns"))?;
    let polygonal = |l: &&Layer| l.geometry_type.to_ascii_uppercase().contains("POLYGON") || l.geometry_type.eq_ignore_ascii_case("GEOMETRY");
    let layer = if let Some(want) = &opts.layer {
        all.iter().find(|l| l.table == *want).ok_or_else(|| refusal(&file, "--layer", want.clone(), format!("no layer {want:?}: {}", describe(&all))))?
    } else {
        let mut fits = Vec::new();
        for l in all.iter().filter(polygonal) {
            let cols = columns(&db, &l.table).map_err(sql_err("reading the layer's columns"))?;
            if cols.iter().any(|c| c.eq_ignore_ascii_case("AGS")) {
                fits.push(l);
            }
        }
        match fits.as_slice() {
            [one] => *one,
            [] => return Err(refusal(&file, "(layer)", "", format!("no polygon layer with an AGS field; {}; choose one with --layer NAME", describe(&all)))),
            _ => {
                let names: Vec<&str> = fits.iter().map(|l| l.table.as_str()).collect();
                return Err(refusal(&file, "(layer)", "", format!("several layers could be the municipalities: {}; choose one with --layer NAME", names.join(", "))));
            }
        }
    };
    let name = format!("{file} layer {}", layer.table);
    let mut problems = Problems::new(name.clone());
    let srs: Option<(String, i64)> = db
        .query_row(include_str!("../../sql/gpkg_srs.sql"), [layer.srs_id], |r| Ok((r.get("organization")?, r.get("organization_coordsys_id")?)))
        .map_err(sql_err("reading gpkg_spatial_ref_sys"))
        .ok();
    let file_crs = match srs {
        // srs_id 0 and -1 are the GeoPackage's "undefined" systems.
        _ if layer.srs_id <= 0 => None,
        Some((org, code)) if org.eq_ignore_ascii_case("EPSG") => {
            let c = u32::try_from(code).map_err(|_| refusal(&name, "srs_id", code.to_string(), "not an EPSG code"))?;
            Some(Crs::parse(&format!("EPSG:{c}")).map_err(|e| refusal(&name, "srs_id", format!("{org}:{code}"), e))?)
        }
        Some((org, code)) => return Err(refusal(&name, "srs_id", format!("{org}:{code}"), "only EPSG coordinate systems are supported")),
        None => None,
    };
    let Some(crs) = choose_crs(file_crs, opts.crs, "the GeoPackage", &mut problems) else {
        problems.into_result()?;
        return Err(refusal(&name, "crs", "", "no CRS"));
    };
    let mut st = db.prepare(&format!("SELECT * FROM {}", ident(&layer.table))).map_err(sql_err("reading the layer"))?;
    let names: Vec<String> = st.column_names().iter().map(|s| (*s).to_owned()).collect();
    let mut rows = st.query([]).map_err(sql_err("reading the layer"))?;
    let mut features = Vec::new();
    let mut i = 0u64;
    loop {
        let row = match rows.next() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                problems.add(Loc::Feature(i + 1), "(row)", "", format!("cannot read the row: {e}"));
                break;
            }
        };
        i += 1;
        let mut props = Map::new();
        let mut geometry = Value::Null;
        for (k, col) in names.iter().enumerate() {
            let Ok(v) = row.get_ref(k) else { continue };
            if *col == layer.column {
                match v {
                    ValueRef::Blob(b) => match geometry_json(b) {
                        Ok(g) => geometry = g,
                        Err(e) => problems.add(Loc::Feature(i), col.clone(), format!("{} bytes", b.len()), e),
                    },
                    ValueRef::Null => {}
                    _ => problems.add(Loc::Feature(i), col.clone(), "", "the geometry column holds no blob"),
                }
                continue;
            }
            props.insert(col.clone(), match v {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(n) => Value::from(n),
                ValueRef::Real(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
                ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(_) => Value::Null,
            });
        }
        features.push(json!({"type": "Feature", "properties": props, "geometry": geometry}));
    }
    if features.is_empty() && problems.is_empty() {
        problems.add(Loc::File, "(rows)", "0", "the layer has no features");
    }
    problems.into_result()?;
    Ok(Features { features, crs, sha256, name })
}

/// A GeoPackage geometry blob as a GeoJSON geometry: the `GP` header
/// (version, flags with byte order and envelope kind, srs id, envelope),
/// then standard WKB.
pub(crate) fn geometry_json(b: &[u8]) -> Result<Value, String> {
    if b.len() < 8 || &b[..2] != b"GP" {
        return Err("not a GeoPackage geometry (no GP header)".into());
    }
    let flags = b[3];
    if flags & 0x20 != 0 {
        return Err("extended GeoPackage geometry types are not supported".into());
    }
    if flags & 0x10 != 0 {
        return Err("empty geometry".into());
    }
    let envelope = match (flags >> 1) & 0x07 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        k => return Err(format!("invalid envelope indicator {k}")),
    };
    let start = 8 + envelope;
    let wkb = b.get(start..).ok_or("the blob ends inside its envelope")?;
    let mut r = Wkb { b: wkb, at: 0 };
    let g = r.geometry()?;
    Ok(g)
}

/// A cursor over WKB: ISO (type + 1000/2000/3000 for Z/M/ZM) and the
/// EWKB-style high flag bits, little- or big-endian per geometry.
struct Wkb<'a> {
    b: &'a [u8],
    at: usize,
}

impl Wkb<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let s = self.b.get(self.at..self.at + n).ok_or_else(|| format!("WKB ends at byte {} (truncated)", self.at))?;
        self.at += n;
        Ok(s)
    }
    fn u32(&mut self, le: bool) -> Result<u32, String> {
        let s: [u8; 4] = self.take(4)?.try_into().map_err(|_| "short read")?;
        Ok(if le { u32::from_le_bytes(s) } else { u32::from_be_bytes(s) })
    }
    fn f64(&mut self, le: bool) -> Result<f64, String> {
        let s: [u8; 8] = self.take(8)?.try_into().map_err(|_| "short read")?;
        Ok(if le { f64::from_le_bytes(s) } else { f64::from_be_bytes(s) })
    }
    /// Byte order, base type (1–7) and the number of ordinates per point.
    fn head(&mut self) -> Result<(bool, u32, usize), String> {
        let le = match self.take(1)?[0] {
            0 => false,
            1 => true,
            o => return Err(format!("invalid WKB byte order {o}")),
        };
        let t = self.u32(le)?;
        let (z, m) = (t & 0x8000_0000 != 0, t & 0x4000_0000 != 0);
        let iso = t & 0x0FFF_FFFF;
        let (base, dims) = (iso % 1000, iso / 1000);
        let (z, m) = (z || dims == 1 || dims == 3, m || dims == 2 || dims == 3);
        Ok((le, base, 2 + usize::from(z) + usize::from(m)))
    }
    fn ring(&mut self, le: bool, ords: usize) -> Result<Value, String> {
        let n = self.u32(le)? as usize;
        if n > self.b.len() / 16 {
            return Err(format!("a ring claims {n} points, more than the blob holds (truncated?)"));
        }
        let mut pts = Vec::with_capacity(n);
        for _ in 0..n {
            let (x, y) = (self.f64(le)?, self.f64(le)?);
            for _ in 2..ords {
                self.f64(le)?;
            }
            pts.push(json!([x, y]));
        }
        Ok(Value::Array(pts))
    }
    fn polygon_body(&mut self, le: bool, ords: usize) -> Result<Value, String> {
        let n = self.u32(le)? as usize;
        (0..n).map(|_| self.ring(le, ords)).collect::<Result<Vec<_>, _>>().map(Value::Array)
    }
    fn geometry(&mut self) -> Result<Value, String> {
        let (le, base, ords) = self.head()?;
        match base {
            3 => Ok(json!({"type": "Polygon", "coordinates": self.polygon_body(le, ords)?})),
            6 => {
                let n = self.u32(le)?;
                let mut polys = Vec::new();
                for _ in 0..n {
                    let (le2, t, ords2) = self.head()?;
                    if t != 3 {
                        return Err(format!("a MultiPolygon member of WKB type {t}, not a Polygon"));
                    }
                    polys.push(self.polygon_body(le2, ords2)?);
                }
                Ok(json!({"type": "MultiPolygon", "coordinates": polys}))
            }
            t => {
                let name = match t {
                    1 => "Point",
                    2 => "LineString",
                    4 => "MultiPoint",
                    5 => "MultiLineString",
                    7 => "GeometryCollection",
                    _ => "unknown",
                };
                // The municipality parser reports the type in its own words.
                Ok(json!({"type": name, "coordinates": []}))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(flags: u8, envelope: usize, wkb: &[u8]) -> Vec<u8> {
        let mut b = vec![b'G', b'P', 0, flags, 0, 0, 0x63, 0xe8];
        b.extend(std::iter::repeat_n(0u8, envelope));
        b.extend_from_slice(wkb);
        b
    }

    fn polygon_wkb(le: bool, type_code: u32, ords: usize) -> Vec<u8> {
        let u = |v: u32| if le { v.to_le_bytes() } else { v.to_be_bytes() };
        let f = |v: f64| if le { v.to_le_bytes() } else { v.to_be_bytes() };
        let mut w = vec![u8::from(le)];
        w.extend(u(type_code));
        w.extend(u(1));
        w.extend(u(4));
        for (x, y) in [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)] {
            w.extend(f(x));
            w.extend(f(y));
            for _ in 2..ords {
                w.extend(f(7.0));
            }
        }
        w
    }

    #[test]
    fn header_envelopes_and_wkb_dimensions() {
        let want = json!({"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]]});
        for (flags, env) in [(0x01, 0), (0x03, 32), (0x05, 48), (0x07, 48), (0x09, 64)] {
            for (code, ords) in [(3, 2), (1003, 3), (2003, 3), (3003, 4), (0x8000_0003, 3)] {
                for le in [true, false] {
                    let g = geometry_json(&blob(flags, env, &polygon_wkb(le, code, ords))).unwrap();
                    assert_eq!(g, want, "flags {flags:#x} type {code} le {le}");
                }
            }
        }
        let mut multi = vec![1u8];
        multi.extend(6u32.to_le_bytes());
        multi.extend(2u32.to_le_bytes());
        multi.extend(polygon_wkb(true, 3, 2));
        multi.extend(polygon_wkb(false, 3, 2));
        let g = geometry_json(&blob(1, 0, &multi)).unwrap();
        assert_eq!(g["coordinates"].as_array().unwrap().len(), 2);
        assert!(geometry_json(b"XX").is_err());
        let truncated = blob(1, 0, &polygon_wkb(true, 3, 2)[..30]);
        assert!(geometry_json(&truncated).unwrap_err().contains("truncated"));
    }
}
