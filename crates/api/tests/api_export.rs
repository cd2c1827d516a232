//! Exports people pass on (issue 18 item 6): CSV and XLSX of the figures
//! per municipality, district, region and the state, read back as a
//! spreadsheet program would and compared with the OGC API's features.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use calamine::{Data, Reader, Xlsx};
use common::App;
use serde_json::Value;

/// The OGC features' properties of a collection, by id.
async fn features(app: &App, collection: &str) -> Vec<serde_json::Map<String, Value>> {
    let v = app.get(&format!("/ogc/collections/{collection}/items?limit=1000")).await.json();
    v["features"].as_array().unwrap().iter().map(|f| f["properties"].as_object().unwrap().clone()).collect()
}

/// A CSV body: header and rows, after the UTF-8 byte-order mark.
fn read_csv(bytes: &[u8], sep: u8) -> (Vec<String>, Vec<Vec<String>>) {
    assert!(bytes.starts_with("\u{feff}".as_bytes()), "no BOM");
    let mut r = csv::ReaderBuilder::new().delimiter(sep).from_reader(&bytes[3..]);
    let header = r.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = r.records().map(|x| x.unwrap().iter().map(str::to_owned).collect()).collect();
    (header, rows)
}

/// A property as the CSV writes it (decimal point).
fn as_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[tokio::test]
async fn municipalities_as_csv_equal_the_ogc_features() {
    let app = App::new().await;
    app.fixture().await;
    let r = app.get("/api/v1/export/municipalities.csv").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type").as_deref(), Some("text/csv; charset=utf-8"));
    assert!(r.header("content-disposition").unwrap().contains("funkplan-municipalities-"));
    let (header, rows) = read_csv(&r.bytes, b',');
    let feats = features(&app, "municipalities").await;
    // The catalog's properties in their order, then the attribution.
    // (Sorted: serde_json keeps the keys in the catalog's order with its
    // preserve_order feature, which the cql2 crate turns on.)
    let mut keys: Vec<String> = feats[0].keys().cloned().collect();
    keys.sort();
    let mut sorted_header: Vec<String> = header[..header.len() - 1].to_vec();
    sorted_header.sort();
    assert_eq!(sorted_header, keys, "same columns as the OGC properties");
    assert_eq!(header[0], "ags");
    assert_eq!(header.last().unwrap(), "attribution");
    assert_eq!(rows.len(), feats.len());
    for (row, f) in rows.iter().zip(&feats) {
        for (j, col) in header[..header.len() - 1].iter().enumerate() {
            assert_eq!(row[j], as_text(&f[col]), "{} {col}", f["ags"]);
        }
        assert!(row.last().unwrap().contains("ynthetisch"), "attribution: {}", row.last().unwrap());
    }
    assert_eq!(rows[0][header.iter().position(|h| h == "household_share_5g").unwrap()], "0.8");

    // German Excel: `;` between fields and a decimal comma.
    let de = app.get("/api/v1/export/municipalities.csv?locale=de").await;
    let (h2, rows2) = read_csv(&de.bytes, b';');
    assert_eq!(h2, header);
    let share = h2.iter().position(|h| h == "household_share_5g").unwrap();
    assert_eq!(rows2[0][share], "0,8");
    assert_eq!(rows2[0][0], rows[0][0]);
}

#[tokio::test]
async fn districts_as_xlsx_with_typed_cells_and_a_source_sheet() {
    let app = App::new().await;
    app.fixture().await;
    let r = app.get("/api/v1/export/districts.xlsx").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    );
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(r.bytes.to_vec())).unwrap();
    assert_eq!(book.sheet_names(), vec!["Kreise".to_owned(), "Quelle".to_owned()]);
    let sheet = book.worksheet_range("Kreise").unwrap();
    let rows: Vec<&[Data]> = sheet.rows().collect();
    let header: Vec<String> = rows[0].iter().map(ToString::to_string).collect();
    let feats = features(&app, "districts").await;
    assert_eq!(rows.len() - 1, feats.len());
    for (row, f) in rows[1..].iter().zip(&feats) {
        for (j, col) in header.iter().enumerate() {
            match (&row[j], &f[col]) {
                (Data::Float(x), Value::Number(n)) => assert!((x - n.as_f64().unwrap()).abs() < 1e-9, "{col}: {x} vs {n}"),
                (Data::String(s), Value::String(t)) => assert_eq!(s, t, "{col}"),
                (Data::Bool(b), Value::Bool(c)) => assert_eq!(b, c, "{col}"),
                (Data::Empty, Value::Null) => {}
                (cell, v) => panic!("{col}: cell {cell:?} for {v}"),
            }
        }
    }
    let src = book.worksheet_range("Quelle").unwrap();
    let text: Vec<String> = src.rows().map(|r| r.iter().map(ToString::to_string).collect::<Vec<_>>().join(": ")).collect();
    assert!(text.iter().any(|l| l.starts_with("Versorgung berechnet aus: reported")), "{text:?}");
    assert!(text.iter().any(|l| l.starts_with("Quellen und Lizenz: ")), "{text:?}");
    assert!(text.iter().any(|l| l.starts_with("Stand der Berechnung: 2026-11-23")), "{text:?}");
}

#[tokio::test]
async fn the_state_is_one_row_summing_its_municipalities() {
    let app = App::new().await;
    app.fixture().await;
    let (header, rows) = read_csv(&app.get("/api/v1/export/state.csv").await.bytes, b',');
    assert_eq!(rows.len(), 1);
    let col = |name: &str| rows[0][header.iter().position(|h| h == name).unwrap()].clone();
    assert_eq!((col("ags").as_str(), col("name").as_str(), col("kind").as_str()), ("05", "Nordrhein-Westfalen", "Land"));
    assert_eq!(col("municipalities"), "3");
    let regions = features(&app, "regions").await;
    let households: f64 = regions.iter().filter_map(|r| r["households"].as_f64()).sum();
    assert_eq!(col("households").parse::<f64>().unwrap(), households);
}

#[tokio::test]
async fn unknown_exports_and_parameters_are_refused() {
    let app = App::new().await;
    let d = app.get("/api/v1/export/sites.csv").await.problem(StatusCode::NOT_FOUND);
    assert!(d.contains("municipalities.csv") && d.contains("state.xlsx"), "{d}");
    app.get("/api/v1/export/municipalities.pdf").await.problem(StatusCode::NOT_FOUND);
    app.get("/api/v1/export/municipalities").await.problem(StatusCode::NOT_FOUND);
    let d = app.get("/api/v1/export/municipalities.csv?locale=fr").await.problem(StatusCode::BAD_REQUEST);
    assert!(d.contains("de, en"), "{d}");
    app.get("/api/v1/export/municipalities.csv?sep=tab").await.problem(StatusCode::BAD_REQUEST);
}

/// The whole dataset as a GeoPackage: read back with SQLite (every layer,
/// every feature's properties equal to the OGC API's) and with GDAL (the
/// file opens as a GeoPackage with typed fields). `scripts/test` installs
/// GDAL (`gdal-bin`).
#[tokio::test]
async fn the_dataset_as_geopackage_reads_back_in_sqlite_and_gdal() {
    let app = App::new().await;
    app.fixture().await;
    let r = app.get("/api/v1/export/funkplan.gpkg").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type").as_deref(), Some("application/geopackage+sqlite3"));
    assert!(r.header("content-disposition").unwrap().contains(".gpkg"));
    let dir = std::env::temp_dir().join(format!("funkplan-gpkg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("funkplan.gpkg");
    std::fs::write(&path, &r.bytes).unwrap();
    let db = rusqlite::Connection::open(&path).unwrap();
    let app_id: i64 = db.query_row("PRAGMA application_id", [], |r| r.get(0)).unwrap();
    assert_eq!(app_id, 0x4750_4B47, "GPKG");
    let layers: Vec<(String, i64)> = db
        .prepare("SELECT table_name, srs_id FROM gpkg_contents WHERE data_type = 'features' ORDER BY table_name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let names: Vec<&str> = layers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["dead_spots", "districts", "measures", "municipalities", "regions", "sites", "state"]);
    assert!(layers.iter().all(|(_, srs)| *srs == 25832));
    for (layer, collection) in [("municipalities", "municipalities"), ("sites", "sites"), ("measures", "measures"), ("districts", "districts")] {
        let feats = features(&app, collection).await;
        let n: i64 = db.query_row(&format!("SELECT count(*) FROM {layer}"), [], |r| r.get(0)).unwrap();
        assert_eq!(n as usize, feats.len(), "{layer}");
        // Every property of the first feature, as stored in its column.
        let f = &feats[0];
        let mut st = db.prepare(&format!("SELECT * FROM {layer} ORDER BY fid LIMIT 1")).unwrap();
        let cols: Vec<String> = st.column_names().into_iter().map(str::to_owned).collect();
        st.query_row([], |row| {
            for (k, v) in f {
                let i = cols.iter().position(|c| c == k).unwrap_or_else(|| panic!("{layer}: no column {k}"));
                let got: rusqlite::types::Value = row.get(i).unwrap();
                use rusqlite::types::Value as S;
                match (v, &got) {
                    (Value::Null, S::Null) => {}
                    (Value::Number(a), S::Real(b)) => assert!((a.as_f64().unwrap() - b).abs() < 1e-9, "{layer}.{k}"),
                    (Value::Number(a), S::Integer(b)) => assert_eq!(a.as_i64(), Some(*b), "{layer}.{k}"),
                    (Value::Bool(a), S::Integer(b)) => assert_eq!(i64::from(*a), *b, "{layer}.{k}"),
                    (Value::String(a), S::Text(b)) if a.len() > 10 && a.contains('T') => {
                        // Instants in UTC with a Z, as GeoPackage DATETIME wants.
                        assert_eq!(chrono::DateTime::parse_from_rfc3339(a).unwrap(), chrono::DateTime::parse_from_rfc3339(b).unwrap(), "{layer}.{k}");
                    }
                    (Value::String(a), S::Text(b)) => assert_eq!(a, b, "{layer}.{k}"),
                    (Value::Array(_) | Value::Object(_), S::Text(b)) => assert_eq!(&v.to_string(), b, "{layer}.{k}"),
                    (a, b) => panic!("{layer}.{k}: {a:?} stored as {b:?}"),
                }
            }
            let geom: Vec<u8> = row.get(cols.iter().position(|c| c == "geom").unwrap()).unwrap();
            assert_eq!(&geom[..2], b"GP");
            Ok(())
        })
        .unwrap();
    }
    // GDAL opens it as a GeoPackage, with typed fields and the features.
    let o = std::process::Command::new("ogrinfo").args(["-ro", "-so", "-al"]).arg(&path).output().expect("ogrinfo (GDAL) runs");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out} {}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("using driver `GPKG'"), "{out}");
    assert!(out.contains("Layer name: municipalities"), "{out}");
    assert!(out.contains("Geometry: Multi Polygon") || out.contains("Geometry: Polygon"), "{out}");
    assert!(out.contains("Geometry: Point"), "{out}");
    assert!(out.contains("household_share_5g: Real"), "{out}");
    assert!(out.contains("planned_date: Date"), "{out}");
    assert!(out.contains("computed_at: DateTime"), "{out}");
    assert!(out.contains("ETRS89 / UTM zone 32N") || out.contains("25832"), "{out}");
    std::fs::remove_dir_all(&dir).ok();
}
