//! OGC API – Features Part 3 and friends over the router on a real
//! database: CQL2 filters (text and JSON, every supported operator), the
//! queryables as query parameters, `sortby`, `properties`, `skipGeometry`,
//! and keyset paging (`cursor`) alone and combined with them; bad filters
//! and injection attempts are refused or inert.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::App;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

const UTM: &str = "http://www.opengis.net/def/crs/EPSG/0/25832";

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn ids(j: &Value) -> Vec<String> {
    j["features"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap().to_owned()).collect()
}

fn next(j: &Value) -> Option<String> {
    j["links"].as_array().unwrap().iter().find(|l| l["rel"] == "next").map(|l| {
        let href = l["href"].as_str().unwrap();
        href.strip_prefix("http://test.local").unwrap_or(href).to_owned()
    })
}

/// The ids of the sites a cql2-text filter selects (one page of 1,000).
async fn sites(app: &App, filter: &str) -> Vec<String> {
    let r = app.get(&format!("/ogc/collections/sites/items?limit=1000&filter={}", enc(filter))).await;
    assert_eq!(r.status, StatusCode::OK, "{filter}: {}", String::from_utf8_lossy(&r.bytes));
    ids(&r.json())
}

/// The detail of the 400 a filter gets.
async fn refused(app: &App, query: &str) -> String {
    app.get(&format!("/ogc/collections/sites/items?{query}")).await.problem(StatusCode::BAD_REQUEST)
}

#[tokio::test]
async fn each_cql2_operator_selects_what_it_says() {
    let app = App::new().await;
    app.fixture().await;
    // Fixture: S-1 telekom on_air {lte} 2023-03-01 (Düsseldorf), S-2
    // vodafone planned 2025-06-01 (Düsseldorf), S-3 telekom construction
    // (Duisburg), S-4 telefonica on_air {lte,5g} 2024-07-15 (Köln).
    for (filter, want) in [
        ("status = 'on_air'", &["S-1", "S-4"][..]),
        ("status <> 'on_air'", &["S-2", "S-3"]),
        ("operator = 'telekom' AND status = 'construction'", &["S-3"]),
        ("operator = 'vodafone' OR status = 'construction'", &["S-2", "S-3"]),
        ("NOT (operator = 'telekom')", &["S-2", "S-4"]),
        ("site_id LIKE 'S-%' AND site_id NOT LIKE '%4'", &["S-1", "S-2", "S-3"]),
        ("site_id LIKE 'S-_'", &["S-1", "S-2", "S-3", "S-4"]),
        ("CASEI(operator) = casei('TeleKom')", &["S-1", "S-3"]),
        ("operator IN ('telefonica', 'vodafone')", &["S-2", "S-4"]),
        ("operator NOT IN ('telefonica', 'vodafone')", &["S-1", "S-3"]),
        ("on_air_date BETWEEN DATE('2023-01-01') AND DATE('2023-12-31')", &["S-1"]),
        ("on_air_date > DATE('2023-03-01')", &["S-4"]),
        ("on_air_date >= DATE('2023-03-01')", &["S-1", "S-4"]),
        ("on_air_date < DATE('2024-07-15')", &["S-1"]),
        ("on_air_date <= DATE('2024-07-15')", &["S-1", "S-4"]),
        ("on_air_date IS NULL", &["S-2", "S-3"]),
        ("on_air_date IS NOT NULL", &["S-1", "S-4"]),
        ("T_INTERSECTS(on_air_date, INTERVAL('2024-01-01', '..'))", &["S-4"]),
        ("T_INTERSECTS(on_air_date, DATE('2023-03-01'))", &["S-1"]),
        ("T_INTERSECTS(on_air_date, TIMESTAMP('2023-03-01T00:00:00Z'))", &["S-1"]),
        ("T_BEFORE(on_air_date, DATE('2024-01-01'))", &["S-1"]),
        ("T_AFTER(on_air_date, DATE('2023-03-01'))", &["S-4"]),
        ("T_EQUALS(on_air_date, DATE('2024-07-15'))", &["S-4"]),
        ("T_DISJOINT(on_air_date, INTERVAL('2023-01-01', '2023-12-31'))", &["S-4"]),
        ("T_AFTER(planned_date, DATE('2025-01-01'))", &["S-2"]),
        ("A_CONTAINS(technologies, ('5g'))", &["S-4"]),
        ("A_OVERLAPS(technologies, ('lte', '5g'))", &["S-1", "S-4"]),
        ("A_CONTAINEDBY(technologies, ('lte'))", &["S-1", "S-2", "S-3"]),
        ("A_EQUALS(technologies, ('lte', '5g'))", &["S-4"]),
        // Düsseldorf in lon/lat (the box excludes Duisburg to the north and
        // Köln to the south).
        ("S_INTERSECTS(geometry, BBOX(6.6, 51.1, 6.95, 51.3))", &["S-1", "S-2"]),
        ("S_INTERSECTS(geometry, POLYGON((6.6 51.1, 6.95 51.1, 6.95 51.3, 6.6 51.3, 6.6 51.1)))", &["S-1", "S-2"]),
        ("S_WITHIN(geometry, POLYGON((6.6 51.1, 6.95 51.1, 6.95 51.3, 6.6 51.3, 6.6 51.1)))", &["S-1", "S-2"]),
        ("S_DISJOINT(geometry, BBOX(6.6, 51.1, 6.95, 51.3))", &["S-3", "S-4"]),
        ("S_INTERSECTS(geometry, BBOX(6.6, 51.1, 6.95, 51.3)) AND status = 'planned'", &["S-2"]),
        ("true", &["S-1", "S-2", "S-3", "S-4"]),
        ("false", &[]),
    ] {
        assert_eq!(sites(&app, filter).await, want, "{filter}");
    }
    // A point in EPSG:25832 (filter-crs): exactly S-1.
    let r = app
        .get(&format!(
            "/ogc/collections/sites/items?filter={}&filter-crs={}",
            enc("S_INTERSECTS(geometry, POINT(344000 5675000))"),
            enc(UTM)
        ))
        .await;
    assert_eq!(ids(&r.json()), ["S-1"]);
    // The same in cql2-json, with a GeoJSON polygon.
    let json = r#"{"op":"and","args":[
        {"op":"s_intersects","args":[{"property":"geometry"},
            {"type":"Polygon","coordinates":[[[6.6,51.1],[6.95,51.1],[6.95,51.3],[6.6,51.3],[6.6,51.1]]]}]},
        {"op":"in","args":[{"property":"status"},["on_air","construction"]]}]}"#;
    let r = app.get(&format!("/ogc/collections/sites/items?filter-lang=cql2-json&filter={}", enc(json))).await;
    assert_eq!(ids(&r.json()), ["S-1"]);
    // Numbers, booleans and timestamps on municipalities and dead spots.
    let m = |f: &str| format!("/ogc/collections/municipalities/items?filter={}", enc(f));
    assert_eq!(ids(&app.get(&m("household_share_5g > 0.5")).await.json()), ["05111000"]);
    assert_eq!(ids(&app.get(&m("population >= 600000 AND households < 400000")).await.json()), ["05111000"]);
    assert_eq!(ids(&app.get(&m("synthetic = false AND name = 'Köln'")).await.json()), ["05315000"]);
    assert_eq!(ids(&app.get(&m("household_share_5g IS NULL")).await.json()), ["05315000"]);
    let d = format!(
        "/ogc/collections/dead-spots/items?filter={}",
        enc("T_INTERSECTS(computed_at, INTERVAL('2026-11-23T00:00:00Z', '2026-11-24T00:00:00Z')) AND area_km2 > 0.02")
    );
    assert_eq!(ids(&app.get(&d).await.json()), ["05111000-1"]);
    // numberMatched counts the filtered features.
    let j = app.get("/ogc/collections/sites/items?limit=1&filter=status%3D%27on_air%27").await.json();
    assert_eq!(j["numberMatched"], 2);
    assert_eq!(j["numberReturned"], 1);
}

#[tokio::test]
async fn queryables_are_query_parameters_and_listed() {
    let app = App::new().await;
    app.fixture().await;
    let j = app.get("/ogc/collections/sites/items?on_air_date=2024-07-15").await.json();
    assert_eq!(ids(&j), ["S-4"]);
    let j = app.get("/ogc/collections/sites/items?technologies=5g").await.json();
    assert_eq!(ids(&j), ["S-4"]);
    let j = app.get("/ogc/collections/municipalities/items?population=500000").await.json();
    assert_eq!(ids(&j), ["05112000"]);
    let e = app.get("/ogc/collections/sites/items?on_air_date=yesterday").await.problem(StatusCode::BAD_REQUEST);
    assert!(e.contains("parameter 'on_air_date': \"yesterday\" is no date"), "{e}");
    let e = app.get("/ogc/collections/municipalities/items?population=many").await.problem(StatusCode::BAD_REQUEST);
    assert!(e.contains("is no number"), "{e}");
    let e = app.get("/ogc/collections/sites/items?colour=red").await.problem(StatusCode::BAD_REQUEST);
    assert!(
        e.contains("colour") && e.contains("queryables of sites (as query parameters): operator, status, ags, technology, site_id"),
        "{e}"
    );
    let q = app.get("/ogc/collections/sites/queryables").await.json();
    for p in ["geometry", "site_id", "operator", "status", "technology", "technologies", "planned_date", "on_air_date", "ags"] {
        assert!(q["properties"][p].is_object(), "{p} missing: {q}");
    }
    assert_eq!(q["properties"]["on_air_date"]["format"], "date");
    assert_eq!(q["properties"]["geometry"]["x-ogc-role"], "primary-geometry");
    let c = app.get("/ogc/conformance").await.json();
    let classes: Vec<&str> = c["conformsTo"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    for cc in [
        "ogcapi-features-3/1.0/conf/filter",
        "ogcapi-features-3/1.0/conf/features-filter",
        "cql2/1.0/conf/cql2-text",
        "cql2/1.0/conf/cql2-json",
        "cql2/1.0/conf/basic-cql2",
        "cql2/1.0/conf/advanced-comparison-operators",
        "cql2/1.0/conf/basic-spatial-functions",
    ] {
        assert!(classes.iter().any(|c| c.ends_with(cc)), "{cc} missing");
    }
}

#[tokio::test]
async fn bad_filters_are_400_naming_where_and_what() {
    let app = App::new().await;
    app.fixture().await;
    for (query, says) in [
        ("filter=status%20%3D", "cql2-text does not parse at line 1, column 9"),
        ("filter=status%20%3D%3D%20%27x%27", "does not parse at line 1"),
        ("filter=colour%20%3D%20%27red%27", "unknown property \"colour\"; queryables of sites: site_id, operator, status"),
        ("filter=status%20%3D%205", "property \"status\" (text) cannot be compared with the number 5"),
        ("filter=on_air_date%20%3E%20%27soon%27", "property \"on_air_date\" (date) cannot be compared with the string \"soon\""),
        ("filter=T_DURING(on_air_date%2C%20INTERVAL(%272024-01-01%27%2C%20%272024-02-01%27))", "T_DURING is not supported"),
        ("filter=ACCENTI(status)%20%3D%20%27x%27", "\"accenti\" is not supported"),
        ("filter=status%20%3D%20NULL", "use IS NULL"),
        ("filter=S_INTERSECTS(status%2C%20BBOX(1%2C2%2C3%2C4))", "S_INTERSECTS takes the property geometry and a geometry"),
        ("filter=A_CONTAINS(status%2C%20(%27x%27))", "property \"status\" is no array"),
        ("filter=status%20%3D%20%27x%27&filter-lang=cql3", "parameter 'filter-lang': \"cql3\" is not offered"),
        ("filter-lang=cql2-json", "given without 'filter'"),
        ("filter-lang=cql2-json&filter=%7B%22op%22%3A%22%3D%22", "cql2-json does not parse at line 1"),
        ("filter=status%20%3D%20%27x%27&filter-crs=EPSG%3A4326", "parameter 'filter-crs'"),
    ] {
        let e = refused(&app, query).await;
        assert!(e.contains("parameter '"), "{query}: {e}");
        assert!(e.contains(says), "{query}: {e}");
    }
    // Geometries PostGIS would take and answer nothing for (a ring that
    // is not closed) or refuse: 400 saying why.
    let json = r#"{"op":"s_intersects","args":[{"property":"geometry"},{"type":"Polygon","coordinates":[[[6.6,51.1],[6.95,51.1],[6.95,51.3],[6.6,51.3]]]}]}"#;
    let e = refused(&app, &format!("filter-lang=cql2-json&filter={}", enc(json))).await;
    assert!(e.contains("parameter 'filter': the geometry is not valid: a polygon's ring is not closed"), "{e}");
    let e = refused(&app, &format!("filter={}", enc("S_INTERSECTS(geometry, POLYGON((6.6 51.1, 6.95 51.1, 6.95 51.3, 6.7 51.3)))"))).await;
    assert!(e.contains("ring is not closed"), "{e}");
    let e = refused(&app, &format!("filter={}", enc("S_INTERSECTS(geometry, LINESTRING(6.6 51.1))"))).await;
    assert!(e.contains("1 positions where 2 are needed"), "{e}");
}

#[tokio::test]
async fn injection_attempts_are_inert() {
    let app = App::new().await;
    app.fixture().await;
    for v in ["'; drop table site; --", "x' OR '1'='1", "on_air'); DELETE FROM site; --", "\\'; drop table site; --"] {
        let lit = v.replace('\'', "''");
        assert_eq!(sites(&app, &format!("status = '{lit}'")).await, Vec::<String>::new(), "{v}");
        assert_eq!(sites(&app, &format!("status LIKE '{lit}'")).await, Vec::<String>::new(), "{v}");
        assert_eq!(sites(&app, &format!("status IN ('{lit}', 'x')")).await, Vec::<String>::new(), "{v}");
        let j = app.get(&format!("/ogc/collections/sites/items?status={}", enc(v))).await.json();
        assert_eq!(j["numberMatched"], 0, "{v}");
        let j = app.get(&format!("/ogc/collections/sites/items?on_air_date=2024-07-15&site_id={}", enc(v))).await.json();
        assert_eq!(j["numberMatched"], 0, "{v}");
    }
    // Quoted property names go nowhere near SQL: they must be queryables.
    let e = refused(&app, &format!("filter={}", enc("\"status; drop table site\" = 'x'"))).await;
    assert!(e.contains("unknown property \"status; drop table site\""), "{e}");
    let e = refused(&app, &format!("sortby={}", enc("status; drop table site"))).await;
    assert!(e.contains("parameter 'sortby'"), "{e}");
    let e = refused(&app, &format!("cursor={}", enc("[\"'; drop table site; --\", 1]"))).await;
    assert!(e.contains("parameter 'cursor'"), "{e}");
    // A cursor value that is a string: bound, so it only selects.
    let j = app.get(&format!("/ogc/collections/sites/items?cursor={}", enc("[\"'; drop table site; --\"]"))).await.json();
    assert_eq!(j["numberMatched"], 4);
    // Everything is still there.
    assert_eq!(sites(&app, "true").await.len(), 4);
}

#[tokio::test]
async fn sortby_properties_and_skip_geometry() {
    let app = App::new().await;
    app.fixture().await;
    let get = |q: &str| format!("/ogc/collections/sites/items?{q}");
    // NULLs last ascending, first descending; ties by id.
    assert_eq!(ids(&app.get(&get("sortby=on_air_date")).await.json()), ["S-1", "S-4", "S-2", "S-3"]);
    assert_eq!(ids(&app.get(&get("sortby=-on_air_date")).await.json()), ["S-2", "S-3", "S-4", "S-1"]);
    // A '+' arrives as a space when not encoded: still ascending.
    assert_eq!(ids(&app.get(&get("sortby=+operator,-site_id")).await.json()), ["S-4", "S-3", "S-1", "S-2"]);
    assert_eq!(ids(&app.get(&get("sortby=%2Boperator,-site_id")).await.json()), ["S-4", "S-3", "S-1", "S-2"]);
    let m = app.get("/ogc/collections/municipalities/items?sortby=-population").await.json();
    assert_eq!(ids(&m), ["05315000", "05111000", "05112000"]);
    let e = app.get(&get("sortby=colour")).await.problem(StatusCode::BAD_REQUEST);
    assert!(e.contains("parameter 'sortby': \"colour\" is no property of sites; properties: site_id, operator"), "{e}");
    let e = app.get(&get("sortby=technologies")).await.problem(StatusCode::BAD_REQUEST);
    assert!(e.contains("is a list"), "{e}");
    // properties: only those, in the order asked.
    let r = app.get(&get("properties=status,site_id&limit=1")).await;
    let body = String::from_utf8(r.bytes.to_vec()).unwrap();
    assert!(
        body.contains(r#""properties":{"status" : "on_air", "site_id" : "S-1"}"#)
            || body.contains(r#""properties":{"status":"on_air","site_id":"S-1"}"#),
        "{body}"
    );
    let j = r.json();
    assert_eq!(j["features"][0]["properties"].as_object().unwrap().len(), 2);
    assert!(j["features"][0]["geometry"]["coordinates"].is_array());
    let j = app.get(&get("properties=")).await.json();
    assert_eq!(j["features"][0]["properties"], serde_json::json!({}));
    let e = app.get(&get("properties=status,colour")).await.problem(StatusCode::BAD_REQUEST);
    assert!(e.contains("parameter 'properties': \"colour\" is no property of sites"), "{e}");
    // skipGeometry.
    let j = app.get(&get("skipGeometry=true")).await.json();
    assert_eq!(j["features"].as_array().unwrap().len(), 4);
    assert!(j["features"].as_array().unwrap().iter().all(|f| f["geometry"].is_null() && f["properties"]["site_id"].is_string()));
    let j = app.get(&get("skipGeometry=false&limit=1")).await.json();
    assert!(j["features"][0]["geometry"].is_object());
    let e = app.get(&get("skipGeometry=yes")).await.problem(StatusCode::BAD_REQUEST);
    assert!(e.contains("parameter 'skipGeometry'"), "{e}");
    // The links keep the parameters.
    let j = app.get(&get("sortby=-site_id&properties=status&skipGeometry=true&limit=2")).await.json();
    let n = next(&j).unwrap();
    assert!(n.contains("sortby=-site_id") && n.contains("properties=status") && n.contains("skipGeometry=true"), "{n}");
    let j = app.get(&n).await.json();
    assert_eq!(ids(&j), ["S-2", "S-1"]);
    assert!(next(&j).is_none());
}

/// 200 more sites with repeated and missing values, so sort keys tie and
/// are NULL.
const MORE_SITES: &str = "
INSERT INTO site (site_id, operator_id, geom, status, technologies, planned_date, on_air_date)
SELECT 'P-' || lpad(i::text, 3, '0'), (ARRAY['telekom', 'vodafone', 'telefonica', '1und1'])[1 + i % 4],
       ST_SetSRID(ST_MakePoint(340500 + (i % 19) * 500, 5670500 + (i / 19) * 900), 25832),
       CASE WHEN i % 3 = 0 THEN 'on_air' ELSE 'planned' END,
       CASE WHEN i % 3 = 0 THEN '{lte}'::text[] ELSE '{}' END,
       CASE WHEN i % 3 <> 0 AND i % 5 <> 0 THEN date '2025-01-01' + (i % 7) * 30 END,
       CASE WHEN i % 3 = 0 THEN date '2020-01-01' + (i % 11) * 100 END
FROM generate_series(1, 200) i";

/// Every page of a request, following `next` links: the ids in order,
/// and the number of pages.
async fn walk(app: &App, first: &str) -> (Vec<String>, usize) {
    let (mut seen, mut pages, mut url) = (Vec::new(), 0, first.to_owned());
    loop {
        let r = app.get(&url).await;
        assert_eq!(r.status, StatusCode::OK, "{url}: {}", String::from_utf8_lossy(&r.bytes));
        let j = r.json();
        seen.extend(ids(&j));
        pages += 1;
        assert!(pages < 500, "{first}: no end");
        match next(&j) {
            Some(n) => {
                assert!(n.contains("cursor=") && !n.contains("offset="), "{n}");
                url = n;
            }
            None => break,
        }
    }
    (seen, pages)
}

#[tokio::test]
async fn keyset_pages_equal_one_page_with_sortby_and_filters() {
    let app = App::new().await;
    app.fixture().await;
    app.sql(MORE_SITES).await;
    let mut rng = StdRng::seed_from_u64(18);
    let keys = ["operator", "status", "planned_date", "on_air_date", "site_id", "ags"];
    let filters = [
        None,
        Some("status = 'planned'"),
        Some("operator IN ('telekom', '1und1') OR planned_date IS NULL"),
        Some("S_INTERSECTS(geometry, BBOX(6.6, 51.1, 6.95, 51.3)) AND NOT (operator = 'vodafone')"),
        Some("T_AFTER(planned_date, DATE('2025-03-01'))"),
    ];
    let mut compared = 0;
    for case in 0..40 {
        let mut q: Vec<(String, String)> = Vec::new();
        let n = rng.random_range(0..=3);
        let mut sort: Vec<String> = Vec::new();
        for _ in 0..n {
            let k = keys[rng.random_range(0..keys.len())];
            if !sort.iter().any(|s| s.trim_start_matches('-') == k) {
                sort.push(if rng.random_bool(0.5) { format!("-{k}") } else { k.to_owned() });
            }
        }
        if !sort.is_empty() {
            q.push(("sortby".into(), sort.join(",")));
        }
        if let Some(f) = filters[rng.random_range(0..filters.len())] {
            q.push(("filter".into(), f.to_owned()));
        }
        if rng.random_bool(0.3) {
            q.push(("status".into(), "planned,on_air".into()));
        }
        let qs: String = q.iter().map(|(k, v)| format!("&{}={}", enc(k), enc(v))).collect();
        let all = app.get(&format!("/ogc/collections/sites/items?limit=1000{qs}")).await.json();
        let want = ids(&all);
        let limit = [1, 7, 10, 50][rng.random_range(0..4)];
        let (got, pages) = walk(&app, &format!("/ogc/collections/sites/items?limit={limit}{qs}")).await;
        assert_eq!(got, want, "case {case}: {qs} limit {limit}");
        assert_eq!(pages, want.len().div_ceil(limit).max(1), "case {case}: {qs}");
        assert_eq!(all["numberMatched"], want.len(), "case {case}");
        compared += want.len();
        // Starting at an offset, the cursors continue from there.
        if want.len() > 3 {
            let (rest, _) = walk(&app, &format!("/ogc/collections/sites/items?limit={limit}&offset=3{qs}")).await;
            assert_eq!(rest, want[3..], "case {case}: offset 3, {qs}");
        }
    }
    assert!(compared > 2_000, "only {compared} features compared");
    // The default order pages by id and answers in memory and SQL alike.
    let (got, pages) = walk(&app, "/ogc/collections/sites/items?limit=10").await;
    assert_eq!(got.len(), 204);
    assert_eq!(pages, 21);
    let mut sorted = got.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 204);
    // A bad cursor: 400 naming it.
    for (c, says) in [("nope", "not a JSON array"), ("[1]", "the last value is the id"), ("[\"a\",\"b\"]", "2 values for 0 sort keys")] {
        let e = app.get(&format!("/ogc/collections/sites/items?cursor={}", enc(c))).await.problem(StatusCode::BAD_REQUEST);
        assert!(e.contains("parameter 'cursor'") && e.contains(says), "{c}: {e}");
    }
    let e = app
        .get(&format!("/ogc/collections/sites/items?sortby=on_air_date&cursor={}", enc("[\"soon\",\"S-1\"]")))
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert!(e.contains("does not fit property \"on_air_date\""), "{e}");
    let e = app.get(&format!("/ogc/collections/sites/items?offset=3&cursor={}", enc("[\"S-1\"]"))).await.problem(StatusCode::BAD_REQUEST);
    assert!(e.contains("exclude each other"), "{e}");
}
