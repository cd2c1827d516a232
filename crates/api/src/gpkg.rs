//! Writing a GeoPackage (OGC 12-128r18, version 1.3): the whole dataset as
//! one file that QGIS and GDAL open with typed columns (issue 18 item 6).
//!
//! SQLite itself comes from `rusqlite` (SQLite compiled in, as the ingest's
//! GeoPackage reader uses it). What is written by hand is the GeoPackage
//! layer over it: the two required metadata tables, one feature table per
//! layer, and the geometry blob — a 40-byte header (magic, flags, SRS id,
//! envelope) in front of the WKB that PostGIS produces. No kept Rust crate
//! writes that without bringing GDAL or an async SQL stack along (geozero's
//! GeoPackage support is built on sqlx), and the header is fixed by the
//! standard's clause 2.1.3.

use rusqlite::types::Value as Sql;
use rusqlite::{params, Connection, MAIN_DB};
use serde_json::Value;

use crate::catalog::schema::PropType;

/// A spatial reference system of the file.
pub(crate) struct Srs {
    pub(crate) id: i32,
    pub(crate) name: String,
    pub(crate) organization: &'static str,
    pub(crate) definition: String,
}

/// The SQLite/GeoPackage column type of a property type (GeoPackage
/// clause 1.1.6.1.1; arrays are kept as their JSON text).
fn sql_type(t: PropType) -> &'static str {
    match t {
        PropType::Integer => "INTEGER",
        PropType::Number => "REAL",
        PropType::Boolean => "BOOLEAN",
        PropType::Date => "DATE",
        PropType::DateTime => "DATETIME",
        PropType::Array | PropType::Text => "TEXT",
    }
}

/// One feature: its geometry (ISO WKB, little-endian, with its envelope
/// `[minx, maxx, miny, maxy]`) and its properties.
pub(crate) struct Feature {
    pub(crate) geometry: Option<(Vec<u8>, [f64; 4])>,
    pub(crate) properties: serde_json::Map<String, Value>,
}

/// One feature table.
pub(crate) struct Layer {
    pub(crate) name: String,
    pub(crate) title: String,
    pub(crate) description: String,
    /// `POINT`, `MULTIPOLYGON`, … or `GEOMETRY` for mixed types.
    pub(crate) geometry_type: String,
    pub(crate) srs_id: i32,
    /// Property names in the order of the columns.
    pub(crate) columns: Vec<String>,
    pub(crate) features: Vec<Feature>,
}

impl Layer {
    /// Each column's type, read off its values (the OGC schema's rule).
    fn types(&self) -> Vec<PropType> {
        crate::catalog::schema::types_of(&self.columns, self.features.iter().map(|f| &f.properties))
    }
}

/// The GeoPackage geometry blob (clause 2.1.3): "GP", version 0, flags
/// (little-endian, envelope `[minx, maxx, miny, maxy]`), the SRS id, the
/// envelope, then the WKB as given.
pub(crate) fn blob(srs_id: i32, envelope: [f64; 4], wkb: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(40 + wkb.len());
    b.extend_from_slice(b"GP");
    b.push(0);
    // Bit 0: little-endian header; bits 1–3 = 1: a 32-byte XY envelope.
    b.push(0b0000_0011);
    b.extend_from_slice(&srs_id.to_le_bytes());
    for v in envelope {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(wkb);
    b
}

/// A property value as SQLite stores it in a column of type `t`.
fn sql_value(v: Option<&Value>, t: PropType) -> Sql {
    match v {
        None | Some(Value::Null) => Sql::Null,
        Some(Value::Bool(b)) => Sql::Integer(i64::from(*b)),
        Some(Value::Number(n)) => match (t, n.as_i64()) {
            (PropType::Integer, Some(i)) => Sql::Integer(i),
            _ => n.as_f64().map_or(Sql::Null, Sql::Real),
        },
        // GeoPackage DATETIME is ISO 8601 in UTC with a Z.
        Some(Value::String(s)) if t == PropType::DateTime => match chrono::DateTime::parse_from_rfc3339(s) {
            Ok(d) => Sql::Text(d.with_timezone(&chrono::Utc).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()),
            Err(_) => Sql::Text(s.clone()),
        },
        Some(Value::String(s)) => Sql::Text(s.clone()),
        Some(other) => Sql::Text(other.to_string()),
    }
}

/// `"name"` quoted as an SQLite identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The GeoPackage holding `layers` with the reference systems `srs`, as
/// the bytes of the file.
///
/// # Errors
/// An SQLite error (none is expected of an in-memory database).
pub(crate) fn write(srs: &[Srs], layers: &[Layer]) -> rusqlite::Result<Vec<u8>> {
    let mut db = Connection::open_in_memory()?;
    // "GPKG" as application id, version 1.3.0 (clause 1.1.1.1.1).
    db.execute_batch(
        "PRAGMA application_id = 1196444487;
         PRAGMA user_version = 10300;
         CREATE TABLE gpkg_spatial_ref_sys (
           srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
           organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
         CREATE TABLE gpkg_contents (
           table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
           description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
           min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE,
           srs_id INTEGER, CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
         CREATE TABLE gpkg_geometry_columns (
           table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
           srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
           CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
           CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
           CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
         INSERT INTO gpkg_spatial_ref_sys VALUES
           ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
           ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system');",
    )?;
    let tx = db.transaction()?;
    for s in srs {
        tx.execute(
            "INSERT OR REPLACE INTO gpkg_spatial_ref_sys VALUES (?1, ?2, ?3, ?2, ?4, NULL)",
            params![s.name, s.id, s.organization, s.definition],
        )?;
    }
    for l in layers {
        let types = l.types();
        let cols: Vec<String> = l.columns.iter().zip(&types).map(|(c, t)| format!("{} {}", ident(c), sql_type(*t))).collect();
        let mut create = format!("CREATE TABLE {} (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom {}", ident(&l.name), l.geometry_type);
        for c in &cols {
            create.push_str(", ");
            create.push_str(c);
        }
        create.push(')');
        tx.execute_batch(&create)?;
        let mut extent: Option<[f64; 4]> = None;
        {
            let placeholders = (0..=l.columns.len()).map(|i| format!("?{}", i + 1)).collect::<Vec<_>>().join(", ");
            let names = std::iter::once("geom".to_owned()).chain(l.columns.iter().map(|c| ident(c))).collect::<Vec<_>>().join(", ");
            let mut ins = tx.prepare(&format!("INSERT INTO {} ({names}) VALUES ({placeholders})", ident(&l.name)))?;
            for f in &l.features {
                let geom = match &f.geometry {
                    Some((wkb, env)) => {
                        extent = Some(match extent {
                            None => *env,
                            Some(e) => [e[0].min(env[0]), e[1].max(env[1]), e[2].min(env[2]), e[3].max(env[3])],
                        });
                        Sql::Blob(blob(l.srs_id, *env, wkb))
                    }
                    None => Sql::Null,
                };
                let values = std::iter::once(geom).chain(l.columns.iter().zip(&types).map(|(c, t)| sql_value(f.properties.get(c), *t)));
                ins.execute(rusqlite::params_from_iter(values))?;
            }
        }
        let [min_x, max_x, min_y, max_y] = extent.map_or([None; 4], |e| e.map(Some));
        tx.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, min_x, min_y, max_x, max_y, srs_id)
             VALUES (?1, 'features', ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![l.name, l.title, l.description, min_x, min_y, max_x, max_y, l.srs_id],
        )?;
        tx.execute(
            "INSERT INTO gpkg_geometry_columns VALUES (?1, 'geom', ?2, ?3, 0, 0)",
            params![l.name, l.geometry_type, l.srs_id],
        )?;
    }
    tx.commit()?;
    Ok(db.serialize(MAIN_DB)?.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_blob_header_is_the_standards() {
        let b = blob(25832, [1.0, 2.0, 3.0, 4.0], &[1, 2, 3]);
        assert_eq!(&b[..4], b"GP\x00\x03");
        assert_eq!(i32::from_le_bytes([b[4], b[5], b[6], b[7]]), 25832);
        assert_eq!(f64::from_le_bytes(b[8..16].try_into().unwrap()), 1.0);
        assert_eq!(f64::from_le_bytes(b[32..40].try_into().unwrap()), 4.0);
        assert_eq!(&b[40..], &[1, 2, 3]);
    }

    #[test]
    fn column_types_come_from_the_values() {
        let f = |p: serde_json::Value| Feature { geometry: None, properties: p.as_object().unwrap().clone() };
        let l = Layer {
            name: "t".into(),
            title: "t".into(),
            description: String::new(),
            geometry_type: "POINT".into(),
            srs_id: 25832,
            columns: ["n", "x", "d", "t", "b", "s", "none", "arr"].map(String::from).to_vec(),
            features: vec![
                f(json!({"n": 1, "x": 1, "d": "2024-01-31", "t": "2024-01-31T10:00:00Z", "b": true, "s": "a", "none": null, "arr": ["a"]})),
                f(json!({"n": 2, "x": 1.5, "d": null, "t": "2024-02-01T00:00:00+01:00", "b": false, "s": "2024-01-01", "arr": []})),
            ],
        };
        let types: Vec<&str> = l.types().into_iter().map(sql_type).collect();
        assert_eq!(types, ["INTEGER", "REAL", "DATE", "DATETIME", "BOOLEAN", "TEXT", "TEXT", "TEXT"]);
        assert_eq!(sql_value(Some(&json!("2024-02-01T00:00:00+01:00")), PropType::DateTime), Sql::Text("2024-01-31T23:00:00.000Z".into()));
    }
}
