//! Parser smoke fuzzing (issue 8), the bounded in-test version of the
//! cargo-fuzz targets in `fuzz/`: arbitrary and structure-aware inputs to
//! the CSV and GeoJSON readers of funkplan-ingest (through the same
//! database-free entry points the fuzz targets use) and to the cell-id and
//! AGS parsers. No input may panic; a refused file names a place for every
//! problem; what parses round-trips.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use funkplan_ingest::fuzzing::{check, csv, geojson, CsvKind, GeoJsonKind};
use funkplan_model::{Ags, CellId};
use proptest::prelude::*;

const CSV_KINDS: [CsvKind; 4] = [CsvKind::Households, CsvKind::Sites, CsvKind::Measures, CsvKind::Coverage];

/// Pieces CSV files of every kind are made of, so that random lines reach
/// the row checks and not only the header check.
fn csv_token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("GITTER_ID_100m".to_owned()),
        Just("households".to_owned()),
        Just("x_mp_1km".to_owned()),
        Just("y_mp_1km".to_owned()),
        Just("Einwohner".to_owned()),
        Just("HHGroesse_D".to_owned()),
        Just("site_id".to_owned()),
        Just("operator".to_owned()),
        Just("lon".to_owned()),
        Just("lat".to_owned()),
        Just("status".to_owned()),
        Just("technologies".to_owned()),
        Just("measure_id".to_owned()),
        Just("kind".to_owned()),
        Just("planned_date".to_owned()),
        Just("completed_date".to_owned()),
        Just("on_air_date".to_owned()),
        Just("id".to_owned()),
        Just("lte".to_owned()),
        Just("nr_gesamt".to_owned()),
        Just("telekom_lte".to_owned()),
        Just("telekom".to_owned()),
        Just("on_air".to_owned()),
        Just("planned".to_owned()),
        Just("completed".to_owned()),
        Just("5g_upgrade".to_owned()),
        Just("lte;5g".to_owned()),
        Just("CRS3035RES100mN3129000E4095800".to_owned()),
        Just("CRS3035RES1000mN3129000E4095000".to_owned()),
        Just("100mN56760E3400".to_owned()),
        Just("2024-02-29".to_owned()),
        Just("2099-12-31".to_owned()),
        Just("-1".to_owned()),
        Just("–".to_owned()),
        Just("NaN".to_owned()),
        Just("inf".to_owned()),
        Just("1e999".to_owned()),
        Just("\"".to_owned()),
        Just("\u{feff}".to_owned()),
        "-?[0-9]{1,12}(\\.[0-9]{1,4})?",
        "[A-Za-z0-9_.:-]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(8).collect()),
    ]
}

fn csv_text() -> impl Strategy<Value = Vec<u8>> {
    let sep = prop_oneof![Just(","), Just(";"), Just("\t")];
    let line = (prop::collection::vec(csv_token(), 0..8), sep).prop_map(|(t, s)| t.join(s));
    let eol = prop_oneof![Just("\n"), Just("\r\n"), Just("")];
    (prop::collection::vec((line, eol), 0..12)).prop_map(|ls| ls.into_iter().flat_map(|(l, e)| format!("{l}{e}").into_bytes()).collect())
}

fn coord() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        (-200.0f64..200.0).prop_map(serde_json::Value::from),
        (3_000_000.0f64..7_000_000.0).prop_map(serde_json::Value::from),
        Just(serde_json::Value::from(1e300)),
        Just(serde_json::json!("6.8")),
        Just(serde_json::Value::Null),
    ]
}

fn geojson_text() -> impl Strategy<Value = Vec<u8>> {
    let position = prop::collection::vec(coord(), 0..4).prop_map(serde_json::Value::from).boxed();
    let ring = prop::collection::vec(position.clone(), 0..7).prop_map(|mut r| {
        if let Some(first) = r.first().cloned() {
            r.push(first);
        }
        serde_json::Value::from(r)
    })
    .boxed();
    let geometry = prop_oneof![
        position.prop_map(|p| serde_json::json!({"type": "Point", "coordinates": p})),
        prop::collection::vec(ring.clone(), 0..3).prop_map(|r| serde_json::json!({"type": "Polygon", "coordinates": r})),
        prop::collection::vec(prop::collection::vec(ring, 0..2), 0..3).prop_map(|r| serde_json::json!({"type": "MultiPolygon", "coordinates": r})),
        Just(serde_json::Value::Null),
    ];
    let props = (
        prop_oneof![Just(serde_json::json!("05111000")), Just(serde_json::json!(5111000)), "[0-9]{0,9}".prop_map(serde_json::Value::from)],
        prop_oneof![Just(serde_json::json!("Düsseldorf")), Just(serde_json::json!("")), Just(serde_json::json!(7))],
        prop_oneof![Just(serde_json::json!("S-1")), Just(serde_json::json!("x y")), Just(serde_json::Value::Null)],
        prop_oneof![Just(serde_json::json!("on_air")), Just(serde_json::json!("planned")), Just(serde_json::json!("weird"))],
        prop_oneof![Just(serde_json::json!(["lte"])), Just(serde_json::json!("lte;5g")), Just(serde_json::json!([1, null]))],
    )
        .prop_map(|(ags, gen, id, st, tech)| {
            serde_json::json!({"AGS": ags, "GEN": gen, "site_id": id, "operator": "telekom", "status": st, "technologies": tech, "EWZ": -1})
        });
    let feature = (props, geometry).prop_map(|(p, g)| serde_json::json!({"type": "Feature", "properties": p, "geometry": g}));
    let crs = prop_oneof![
        Just(serde_json::Value::Null),
        Just(serde_json::json!({"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}})),
        Just(serde_json::json!({"type": "name", "properties": {"name": "EPSG:2154"}})),
        Just(serde_json::json!({"type": "name"})),
    ];
    (prop::collection::vec(feature, 0..4), crs, any::<bool>()).prop_map(|(f, crs, cut)| {
        let text = serde_json::json!({"type": "FeatureCollection", "crs": crs, "features": f}).to_string().into_bytes();
        if cut { text[..text.len() / 2].to_vec() } else { text }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn csv_readers_take_any_bytes(k in 0usize..4, bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check(csv(CSV_KINDS[k], &bytes));
    }

    #[test]
    fn csv_readers_take_csv_like_text(k in 0usize..4, bytes in csv_text()) {
        check(csv(CSV_KINDS[k], &bytes));
    }

    #[test]
    fn geojson_readers_take_any_bytes(m in any::<bool>(), bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check(geojson(if m { GeoJsonKind::Municipalities } else { GeoJsonKind::Sites }, &bytes));
    }

    #[test]
    fn geojson_readers_take_geojson_like_text(m in any::<bool>(), bytes in geojson_text()) {
        check(geojson(if m { GeoJsonKind::Municipalities } else { GeoJsonKind::Sites }, &bytes));
    }

    #[test]
    fn cell_ids_never_panic_and_round_trip(s in prop_oneof!["100mN[0-9]{0,9}E[0-9]{0,9}", any::<String>()]) {
        if let Ok(c) = s.parse::<CellId>() {
            prop_assert_eq!(c.to_string().parse::<CellId>().unwrap(), c);
        }
    }

    #[test]
    fn ags_never_panic_and_round_trip(s in prop_oneof!["[0-9]{7,9}", any::<String>()]) {
        if let Ok(a) = s.parse::<Ags>() {
            prop_assert_eq!(a.as_str(), s.as_str());
            prop_assert_eq!(a.to_string().parse::<Ags>().unwrap(), a);
        }
    }
}

/// The committed corpus goes through the same entry points: no panic, and
/// every file the database-free checks can judge is refused.
#[test]
fn corpus_files_are_refused_without_the_database_too() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus");
    // These need the database (existing rows, loaded municipalities, --state,
    // --crs) to be refused, or are refused only for their size or memory.
    // duplicate AGS across features is checked after the per-feature parse.
    let needs_db = ["going_back.csv", "no_such_site.csv", "munich.csv", "outside_state.geojson", "header_only.csv", "bowtie.geojson", "duplicate_ags.geojson", "bom.geojson"];
    let mut accepted = Vec::new();
    for kind in ["municipalities", "households", "sites", "measures", "coverage"] {
        for f in std::fs::read_dir(root.join(kind)).unwrap() {
            let p = f.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&p).unwrap();
            let r = match (kind, name.ends_with("json")) {
                ("municipalities", _) => geojson(GeoJsonKind::Municipalities, &bytes),
                ("sites", true) => geojson(GeoJsonKind::Sites, &bytes),
                ("sites", false) => csv(CsvKind::Sites, &bytes),
                ("households", _) => csv(CsvKind::Households, &bytes),
                ("measures", _) => csv(CsvKind::Measures, &bytes),
                _ => csv(CsvKind::Coverage, &bytes),
            };
            let refused = r.is_err();
            check(r);
            if !refused && !needs_db.contains(&name.as_str()) && name != "wrong_crs.geojson" {
                accepted.push(format!("{kind}/{name}"));
            }
        }
    }
    assert!(accepted.is_empty(), "accepted by the parsers: {accepted:?}");
}
