//! ESRI Shapefiles with the `shapefile` crate (which reads the `.dbf` with
//! `dbase`): polygons become GeoJSON-shaped features, the `.prj` (ESRI
//! WKT1) names the CRS, the `.cpg` the text encoding of the `.dbf`.

use std::io::{Cursor, Read, Seek};
use std::path::Path;

use serde_json::{json, Map, Value};
use shapefile::dbase::{self, encoding::DynEncoding, FieldValue};
use shapefile::{PolygonRing, Shape};

use super::{choose_crs, refusal, Features};
use crate::problem::{Loc, Problems};
use crate::{source, Crs, Error, Options, Result};

/// The parts of one shapefile, wherever they were read from.
pub(super) struct Parts<R> {
    pub name: String,
    pub shp: R,
    pub dbf: Option<R>,
    pub prj: Option<String>,
    pub cpg: Option<String>,
    pub sha256: String,
}

/// A `.shp` on disk with the `.dbf`, `.prj`, `.cpg` beside it (any case of
/// the extension). Held in memory: municipality files are small.
pub(super) fn read_path(path: &Path, opts: &Options) -> Result<Features> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let sibling = |ext: &str| -> Option<std::path::PathBuf> {
        std::fs::read_dir(dir).ok()?.flatten().map(|e| e.path()).find(|p| {
            p.file_stem().is_some_and(|s| s.to_string_lossy() == stem)
                && p.extension().is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case(ext))
        })
    };
    let load = |p: &Path| std::fs::read(p).map_err(Error::io(format!("reading {}", p.display())));
    let shp = load(path)?;
    let dbf = sibling("dbf").map(|p| load(&p)).transpose()?;
    let text = |ext: &str| -> Result<Option<String>> {
        sibling(ext).map(|p| load(&p).map(|b| String::from_utf8_lossy(&b).into_owned())).transpose()
    };
    let (prj, cpg) = (text("prj")?, text("cpg")?);
    let mut h = <sha2::Sha256 as sha2::Digest>::new();
    for part in [Some(&shp), dbf.as_ref()].into_iter().flatten() {
        sha2::Digest::update(&mut h, part);
    }
    let sha256 = hex::encode(sha2::Digest::finalize(h));
    read(Parts { name: source::display_name(path), shp: Cursor::new(shp), dbf: dbf.map(Cursor::new), prj, cpg, sha256 }, opts)
}

/// The features of one shapefile, or every problem found in it.
pub(super) fn read<R: Read + Seek>(parts: Parts<R>, opts: &Options) -> Result<Features> {
    let name = parts.name;
    let Some(dbf) = parts.dbf else {
        return Err(refusal(&name, "(.dbf)", "(missing)", "a shapefile needs its .dbf beside the .shp (the attributes AGS, GEN, … are there)"));
    };
    let file_crs = match parts.prj.as_deref() {
        Some(wkt) => Some(crs_of_prj(wkt).map_err(|e| refusal(&name, "(.prj)", wkt_name(wkt).unwrap_or("(no name)"), e))?),
        None => None,
    };
    let mut problems = Problems::new(name.clone());
    let Some(crs) = choose_crs(file_crs, opts.crs, "the .prj", &mut problems) else {
        problems.into_result()?;
        return Err(refusal(&name, "crs", "", "no CRS"));
    };
    let encoding = match parts.cpg.as_deref().map(str::trim) {
        Some(cpg) => Some(DynEncoding::from_name(cpg).ok_or_else(|| {
            refusal(&name, "(.cpg)", cpg, "unknown text encoding for the .dbf (UTF-8, ISO-8859-1 or a Windows code page like 1252)")
        })?),
        // No .cpg: as GDAL does, ISO-8859-1 (the shapefile default), read as
        // its superset Windows-1252.
        None => DynEncoding::from_name("1252"),
    };
    let mut builder = dbase::ReaderBuilder::new();
    if let Some(e) = encoding {
        builder = builder.with_encoding(e);
    }
    let dbf = builder.build(dbf).map_err(|e| refusal(&name, "(.dbf)", "", format!("not a readable dBASE file: {e}")))?;
    let shapes = shapefile::ShapeReader::new(parts.shp).map_err(|e| refusal(&name, "(.shp)", "", format!("not a readable shapefile: {e}")))?;
    let mut reader = shapefile::Reader::new(shapes, dbf);
    let mut features = Vec::new();
    for (i, item) in reader.iter_shapes_and_records().enumerate() {
        let loc = Loc::Feature(i as u64 + 1);
        let (shape, record) = match item {
            Ok(t) => t,
            Err(e) => {
                problems.add(loc, "(record)", "", format!("cannot read the record: {e} (truncated or damaged .shp/.dbf?)"));
                break;
            }
        };
        let mut props = Map::new();
        for (k, v) in record {
            props.insert(k, field_json(v));
        }
        let geometry = match shape_json(shape) {
            Ok(g) => g,
            Err(t) => {
                problems.add(loc, "geometry", t, "geometry must be a Polygon");
                continue;
            }
        };
        features.push(json!({"type": "Feature", "properties": props, "geometry": geometry}));
    }
    if features.is_empty() && problems.is_empty() {
        problems.add(Loc::File, "(records)", "0", "the shapefile has no records");
    }
    problems.into_result()?;
    Ok(Features { features, crs, sha256: parts.sha256, name })
}

fn field_json(v: FieldValue) -> Value {
    match v {
        FieldValue::Character(Some(s)) | FieldValue::Memo(s) => Value::String(s.trim().to_owned()),
        FieldValue::Numeric(Some(n)) | FieldValue::Double(n) | FieldValue::Currency(n) => number(n),
        FieldValue::Float(Some(n)) => number(f64::from(n)),
        FieldValue::Integer(n) => Value::from(n),
        FieldValue::Logical(Some(b)) => Value::Bool(b),
        FieldValue::Date(Some(d)) => Value::String(format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())),
        _ => Value::Null,
    }
}

/// Whole numbers as integers (a DBF `N` field holds EWZ as 1.2345e6 text).
fn number(n: f64) -> Value {
    #[allow(clippy::cast_possible_truncation)]
    if n.fract() == 0.0 && n.abs() < 9e15 {
        return Value::from(n as i64);
    }
    serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
}

/// A (multi-part) polygon as a GeoJSON MultiPolygon: each outer ring starts
/// a polygon and the inner rings that follow are its holes.
fn shape_json(shape: Shape) -> Result<Value, String> {
    fn rings<P>(rs: Vec<PolygonRing<P>>, xy: impl Fn(&P) -> [f64; 2]) -> Value {
        let mut polys: Vec<Vec<Vec<[f64; 2]>>> = Vec::new();
        for r in rs {
            let outer = matches!(r, PolygonRing::Outer(_));
            let pts: Vec<[f64; 2]> = r.into_inner().iter().map(&xy).collect();
            match polys.last_mut() {
                Some(p) if !outer => p.push(pts),
                _ => polys.push(vec![pts]),
            }
        }
        json!({"type": "MultiPolygon", "coordinates": polys})
    }
    Ok(match shape {
        Shape::Polygon(p) => rings(p.into_inner(), |q| [q.x, q.y]),
        Shape::PolygonM(p) => rings(p.into_inner(), |q| [q.x, q.y]),
        Shape::PolygonZ(p) => rings(p.into_inner(), |q| [q.x, q.y]),
        Shape::NullShape => return Err("(null shape)".into()),
        other => return Err(other.shapetype().to_string()),
    })
}

/// The name of the outermost `PROJCS`/`GEOGCS` of a WKT1 text.
fn wkt_name(wkt: &str) -> Option<&str> {
    let start = wkt.find("[\"")? + 2;
    let end = start + wkt[start..].find('"')?;
    Some(&wkt[start..end])
}

/// The value of `PARAMETER["name", value]` (case-insensitive name).
fn parameter(wkt: &str, name: &str) -> Option<f64> {
    let lower = wkt.to_ascii_lowercase();
    let key = format!("parameter[\"{}\",", name.to_ascii_lowercase());
    let at = lower.find(&key)? + key.len();
    let rest = &wkt[at..];
    rest[..rest.find(']')?].trim().parse().ok()
}

/// The supported CRS a `.prj` (ESRI or OGC WKT1) describes: by its EPSG
/// authority when it has one, else by the names ESRI and GDAL write, else by
/// the projection's parameters; anything else is refused, naming it.
pub(crate) fn crs_of_prj(wkt: &str) -> Result<Crs, String> {
    let t = wkt.trim();
    let supported = || Crs::SUPPORTED.iter().map(|c| format!("EPSG:{c}")).collect::<Vec<_>>().join(", ");
    let name = wkt_name(t).ok_or_else(|| format!("the .prj is not a WKT coordinate system: {:?}", t.chars().take(60).collect::<String>()))?;
    let projected = t.get(..6).is_some_and(|h| h.eq_ignore_ascii_case("PROJCS"));
    // The outermost AUTHORITY is the last one of the text.
    if let Some(at) = t.rfind("AUTHORITY[\"EPSG\",") {
        let rest = &t[at + 17..];
        let code = rest.split(']').next().unwrap_or_default().trim().trim_matches('"');
        // The outermost AUTHORITY ends the text: only its own `]` and the CRS's follow.
        if rest.matches(']').count() <= 2 {
            if let Ok(n) = code.parse::<u32>() {
                return Crs::parse(&format!("EPSG:{n}")).map_err(|e| format!("the .prj names {name:?}: {e}"));
            }
        }
    }
    let n = name.to_ascii_lowercase().replace([' ', '-'], "_");
    let by_name = match n.as_str() {
        "gcs_wgs_1984" | "wgs_84" => Some(4326),
        "gcs_etrs_1989" | "etrs89" => Some(4258),
        "etrs_1989_utm_zone_32n" | "etrs89_/_utm_zone_32n" | "etrs89_utm_zone_32n" => Some(25832),
        "etrs_1989_utm_zone_33n" | "etrs89_/_utm_zone_33n" | "etrs89_utm_zone_33n" => Some(25833),
        "etrs_1989_laea" | "etrs_1989_laea_europe" | "etrs89_/_laea_europe" | "etrs89_laea_europe" => Some(3035),
        "dhdn_3_degree_gauss_zone_2" | "dhdn_/_3_degree_gauss_kruger_zone_2" | "dhdn_/_3_degree_gauss_zone_2" => Some(31466),
        "dhdn_3_degree_gauss_zone_3" | "dhdn_/_3_degree_gauss_kruger_zone_3" | "dhdn_/_3_degree_gauss_zone_3" => Some(31467),
        _ => None,
    };
    if let Some(c) = by_name {
        return Ok(Crs(c));
    }
    if projected {
        let lower = t.to_ascii_lowercase();
        let dhdn = lower.contains("dhdn") || lower.contains("deutsches_hauptdreiecksnetz") || lower.contains("bessel");
        let etrs = lower.contains("etrs") || lower.contains("grs_1980") || lower.contains("grs 1980");
        let tm = lower.contains("transverse_mercator") || lower.contains("gauss_kruger");
        let cm = parameter(t, "central_meridian");
        let fe = parameter(t, "false_easting");
        let by_params = match (tm, cm, fe) {
            (true, Some(cm), Some(fe)) if dhdn && cm == 6.0 && fe == 2_500_000.0 => Some(31466),
            (true, Some(cm), Some(fe)) if dhdn && cm == 9.0 && fe == 3_500_000.0 => Some(31467),
            (true, Some(cm), Some(fe)) if etrs && cm == 9.0 && fe == 500_000.0 => Some(25832),
            (true, Some(cm), Some(fe)) if etrs && cm == 15.0 && fe == 500_000.0 => Some(25833),
            _ => None,
        };
        if let Some(c) = by_params {
            return Ok(Crs(c));
        }
        if etrs && lower.contains("lambert_azimuthal_equal_area") && parameter(t, "false_easting") == Some(4_321_000.0) {
            return Ok(Crs(3035));
        }
    }
    Err(format!("the .prj names the coordinate system {name:?}, which is not supported (supported: {}); reproject the file or name the CRS with --crs after removing the .prj", supported()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ESRI_GK3: &str = r#"PROJCS["DHDN_3_Degree_Gauss_Zone_3",GEOGCS["GCS_Deutsches_Hauptdreiecksnetz",DATUM["D_Deutsches_Hauptdreiecksnetz",SPHEROID["Bessel_1841",6377397.155,299.1528128]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",3500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",9.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;

    #[test]
    fn prj_names_and_parameters() {
        assert_eq!(crs_of_prj(ESRI_GK3), Ok(Crs(31467)));
        let utm = r#"PROJCS["ETRS_1989_UTM_Zone_32N",GEOGCS["GCS_ETRS_1989",DATUM["D_ETRS_1989",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",9.0],PARAMETER["Scale_Factor",0.9996],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
        assert_eq!(crs_of_prj(utm), Ok(Crs(25832)));
        let renamed = utm.replace("ETRS_1989_UTM_Zone_32N", "my_utm").replace("Central_Meridian\",9.0", "Central_Meridian\",15.0");
        assert_eq!(crs_of_prj(&renamed), Ok(Crs(25833)));
        let gk_renamed = ESRI_GK3.replace("DHDN_3_Degree_Gauss_Zone_3", "GK3").replace("Gauss_Kruger", "Transverse_Mercator");
        assert_eq!(crs_of_prj(&gk_renamed), Ok(Crs(31467)));
        let wgs = r#"GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#;
        assert_eq!(crs_of_prj(wgs), Ok(Crs(4326)));
        let lambert = r#"PROJCS["RGF93_Lambert_93",GEOGCS["GCS_RGF_1993",DATUM["D_RGF_1993",SPHEROID["GRS_1980",6378137.0,298.257222101]]],PROJECTION["Lambert_Conformal_Conic"],PARAMETER["False_Easting",700000.0],PARAMETER["Central_Meridian",3.0]]"#;
        let e = crs_of_prj(lambert).unwrap_err();
        assert!(e.contains("RGF93_Lambert_93") && e.contains("not supported"), "{e}");
        assert!(crs_of_prj("hello").is_err());
    }
}
