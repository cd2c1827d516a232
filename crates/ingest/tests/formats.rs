//! The formats the open data is published in (issue 15, item 4): the same
//! 396 municipalities from GeoPackage and Shapefile (plain and zipped) land
//! as the GeoJSON original does, and the census 100 m layout inside a zip
//! lands as the same CSV unzipped. Fixtures: tests/fixtures/formats (made
//! once with ogr2ogr from data/; see its README).
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write as _;
use std::path::PathBuf;

use common::*;
use funkplan_db::testing::TestDb;
use funkplan_ingest::{Kind, Options};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/formats").join(name)
}

fn geojson_original() -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/nrw-gemeinden-vg5000-2021.geojson");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Compare `municipality` with the WGS84 GeoJSON original, reprojected by
/// PostGIS (not by the ingest): same AGS, same names, areas within 0.1 %,
/// centroids within 1 m.
async fn assert_same_as_geojson(c: &tokio_postgres::Client, what: &str) {
    let rows = c
        .query(
            "WITH f AS (SELECT json_array_elements($1::text::json -> 'features') AS f), \
             r AS (SELECT f -> 'properties' ->> 'AGS' AS ags, f -> 'properties' ->> 'GEN' AS gen, \
                          ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(f ->> 'geometry'), 4326), 25832) AS g FROM f) \
             SELECT coalesce(m.ags, r.ags), m.name, r.gen, m.area_km2, ST_Area(r.g) / 1e6, \
                    ST_Distance(ST_Centroid(m.geom), ST_Centroid(r.g)) \
             FROM r FULL JOIN municipality m ON m.ags = r.ags",
            &[&geojson_original()],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 396, "{what}: municipalities");
    let mut bad = Vec::new();
    for r in &rows {
        let (ags, name, gen): (String, Option<String>, Option<String>) = (r.get(0), r.get(1), r.get(2));
        let (area, ref_area, dist): (Option<f64>, Option<f64>, Option<f64>) = (r.get(3), r.get(4), r.get(5));
        if name.is_none() || gen.is_none() || name != gen {
            bad.push(format!("{ags}: name {name:?} vs {gen:?}"));
            continue;
        }
        let (area, ref_area, dist) = (area.unwrap(), ref_area.unwrap(), dist.unwrap());
        if (area - ref_area).abs() > 0.001 * ref_area {
            bad.push(format!("{ags}: area {area} km² vs {ref_area} km²"));
        }
        if dist > 1.0 {
            bad.push(format!("{ags}: centroid {dist:.2} m away"));
        }
    }
    assert!(bad.is_empty(), "{what}: {} differences:\n{}", bad.len(), bad.join("\n"));
    let dus: String = c.query_one("SELECT name FROM municipality WHERE ags = '05111000'", &[]).await.unwrap().get(0);
    assert_eq!(dus, "Düsseldorf", "{what}");
    let umlauts: i64 = c.query_one("SELECT count(*) FROM municipality WHERE name ~ '[äöüÄÖÜß]'", &[]).await.unwrap().get(0);
    assert!(umlauts > 30, "{what}: only {umlauts} names with umlauts");
}

#[tokio::test]
async fn geopackage_in_utm32_equals_the_geojson() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    // Two layers; the one with polygons and an AGS field is chosen.
    let s = ingest(&mut c, Kind::Municipalities, &fixture("nrw-vg5000.gpkg"), &opts()).await.unwrap();
    assert_eq!((s.rows, s.inserted), (396, 396));
    assert_eq!(s.file, "nrw-vg5000.gpkg layer vg250_gem");
    assert_eq!(s.detail["crs"], "EPSG:25832", "the CRS comes from gpkg_spatial_ref_sys");
    assert_same_as_geojson(&c, "GeoPackage").await;
    // --layer names it; a layer without AGS is refused by the parser, feature by feature.
    let o = Options { layer: Some("vg250_gem".into()), dry_run: true, ..opts() };
    assert_eq!(ingest(&mut c, Kind::Municipalities, &fixture("nrw-vg5000.gpkg"), &o).await.unwrap().rows, 396);
    let o = Options { layer: Some("vg250_lan".into()), ..opts() };
    let lines = must_fail(&mut c, Kind::Municipalities, &fixture("nrw-vg5000.gpkg"), &o).await;
    has(&lines, &["nrw-vg5000.gpkg layer vg250_lan", "feature 1", "AGS", "missing AGS"]);
    // A CRS given on the command line must agree with the file's.
    let o = Options { crs: Some(funkplan_ingest::Crs(4326)), ..opts() };
    let lines = must_fail(&mut c, Kind::Municipalities, &fixture("nrw-vg5000.gpkg"), &o).await;
    has(&lines, &["crs", "EPSG:25832", "--crs says EPSG:4326"]);
}

#[tokio::test]
async fn shapefile_in_gauss_krueger_with_latin1_equals_the_geojson() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    let s = ingest(&mut c, Kind::Municipalities, &fixture("shp/vg250_gem.shp"), &opts()).await.unwrap();
    assert_eq!((s.rows, s.inserted), (396, 396));
    assert_eq!(s.detail["crs"], "EPSG:31467", "the CRS comes from the .prj");
    assert_same_as_geojson(&c, "Shapefile").await;
}

#[tokio::test]
async fn zipped_shapefile_equals_the_geojson() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    let s = ingest(&mut c, Kind::Municipalities, &fixture("nrw-vg5000-shp.zip"), &opts()).await.unwrap();
    assert_eq!((s.rows, s.inserted), (396, 396));
    assert_eq!(s.file, "nrw-vg5000-shp.zip/vg250_gem.shp");
    assert_same_as_geojson(&c, "zipped Shapefile").await;
}

/// A census grid in the published 100 m layout (`;`, population only), a few
/// thousand cells over Düsseldorf with some suppressed.
fn census_100m() -> String {
    let mut s = String::from("GITTER_ID_100m;x_mp_100m;y_mp_100m;Einwohner\n");
    for i in 0..60 {
        for j in 0..60 {
            let (n, e) = (3_118_000 + i * 100, 4_100_000 + j * 100);
            let pop = if (i * 7 + j) % 13 == 0 { "–".to_owned() } else { ((i * 31 + j * 17) % 90).to_string() };
            s.push_str(&format!("CRS3035RES100mN{n}E{e};{};{};{pop}\n", e + 50, n + 50));
        }
    }
    s
}

async fn household_table(c: &tokio_postgres::Client) -> (i64, String) {
    let r = c
        .query_one("SELECT count(*), md5(string_agg(format('%s,%s,%s,%s', n, e, households, population), '|' ORDER BY n, e)) FROM household_cell", &[])
        .await
        .unwrap();
    (r.get(0), r.get(1))
}

#[tokio::test]
async fn census_100m_zip_equals_the_csv_unzipped() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    let body = census_100m();
    let csv = tmp_file("Zensus2022_Bevoelkerungszahl_100m-Gitter.csv", &body);
    let zip_path = csv.with_file_name("Zensus2022_Bevoelkerungszahl_100m-Gitter.zip");
    {
        let mut z = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        let o = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        // The published zip also holds a description; the CSV is found by name.
        z.start_file("Datensatzbeschreibung.txt", o).unwrap();
        z.write_all(b"Zensus 2022").unwrap();
        z.start_file("Zensus2022_Bevoelkerungszahl_100m-Gitter.csv", o).unwrap();
        z.write_all(body.as_bytes()).unwrap();
        z.finish().unwrap();
    }
    let from_csv = ingest(&mut c, Kind::Households, &csv, &opts()).await.unwrap();
    let table_csv = household_table(&c).await;
    assert_eq!(from_csv.rows, 3600);
    assert_eq!(table_csv.0 as u64, from_csv.detail["cells_written"].as_u64().unwrap());
    // Population only: households = population / persons per household.
    let pop: f64 = c.query_one("SELECT sum(population::float8) FROM household_cell", &[]).await.unwrap().get(0);
    let hh = from_csv.detail["households_total"].as_f64().unwrap();
    assert!((hh - pop / 2.1444).abs() < 1e-6 * pop, "{hh} households from {pop} people");
    assert!(from_csv.detail["suppressed"].as_u64().unwrap() > 200);
    assert!(from_csv.paragraph().contains("population only"), "{}", from_csv.paragraph());

    c.batch_execute("TRUNCATE household_cell").await.unwrap();
    let from_zip = ingest(&mut c, Kind::Households, &zip_path, &opts()).await.unwrap();
    assert_eq!(household_table(&c).await, table_csv, "the zip lands as the CSV does");
    assert_eq!(from_zip.file, "Zensus2022_Bevoelkerungszahl_100m-Gitter.zip/Zensus2022_Bevoelkerungszahl_100m-Gitter.csv");
    assert_eq!(from_zip.sha256, from_csv.sha256, "the digest is of the CSV, zipped or not");
    assert_eq!((from_zip.rows, &from_zip.detail["households_total"]), (from_csv.rows, &from_csv.detail["households_total"]));
}

#[tokio::test]
async fn damaged_zip_member_is_refused_and_changes_nothing() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    let body = census_100m();
    let csv = tmp_file("ok.csv", &body);
    ingest(&mut c, Kind::Households, &csv, &opts()).await.unwrap();
    // Stored (uncompressed) so one flipped byte changes the data, not the stream: only the CRC-32 finds it.
    let zip_path = csv.with_file_name("flipped.zip");
    {
        let mut z = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        z.start_file("cells.csv", zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored)).unwrap();
        z.write_all(body.as_bytes()).unwrap();
        z.finish().unwrap();
    }
    let mut bytes = std::fs::read(&zip_path).unwrap();
    let at = bytes.windows(4).position(|w| w == b";12\n").unwrap();
    bytes[at + 1] = b'7';
    std::fs::write(&zip_path, &bytes).unwrap();
    let before = checksum(&c).await;
    let err = ingest(&mut c, Kind::Households, &zip_path, &opts()).await.unwrap_err().to_string();
    assert_eq!(checksum(&c).await, before);
    assert!(err.contains("flipped.zip/cells.csv") && err.contains("CRC-32"), "{err}");
}
