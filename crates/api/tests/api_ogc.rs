//! OGC API – Features under /ogc, over the router on a real database.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;

use axum::http::StatusCode;
use common::App;
use serde_json::Value;

const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
const UTM: &str = "http://www.opengis.net/def/crs/EPSG/0/25832";

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn path_of(href: &str) -> String {
    href.strip_prefix("http://test.local").unwrap_or(href).to_owned()
}

fn link<'a>(j: &'a Value, rel: &str) -> Option<&'a Value> {
    j["links"].as_array().unwrap().iter().find(|l| l["rel"] == rel)
}

#[tokio::test]
async fn landing_conformance_and_collections() {
    let app = App::new().await;
    app.fixture().await;
    let j = app.get("/ogc").await.json();
    for rel in ["self", "service-desc", "conformance", "data"] {
        let l = link(&j, rel).unwrap_or_else(|| panic!("no {rel} link"));
        assert!(l["type"].is_string());
        assert!(l["href"].as_str().unwrap().starts_with("http://test.local/"));
    }
    let c = app.get("/ogc/conformance").await.json();
    let classes: Vec<&str> = c["conformsTo"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    for cc in ["conf/core", "conf/geojson", "conf/oas30", "ogcapi-features-2/1.0/conf/crs"] {
        assert!(classes.iter().any(|c| c.ends_with(cc) || c.contains(cc)), "{cc} missing");
    }
    let cols = app.get("/ogc/collections").await.json();
    let ids: Vec<&str> = cols["collections"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["municipalities", "sites", "measures", "dead-spots", "districts", "regions", "state"]);
    let sites = app.get("/ogc/collections/sites").await.json();
    assert_eq!(sites["extent"]["spatial"]["crs"], CRS84);
    let bbox = sites["extent"]["spatial"]["bbox"][0].as_array().unwrap();
    let b: Vec<f64> = bbox.iter().map(|v| v.as_f64().unwrap()).collect();
    // S-3 (Duisburg, west) to S-4 (Köln, south-east) in lon/lat.
    assert!(b[0] > 6.5 && b[0] < 6.8 && b[2] > 6.8 && b[2] < 7.1, "{b:?}");
    assert!(b[1] > 50.8 && b[3] < 51.6 && b[1] < b[3], "{b:?}");
    let t = &sites["extent"]["temporal"]["interval"][0];
    assert!(t[0].as_str().unwrap().starts_with("2023-03-01"), "{t}");
    assert!(t[1].as_str().unwrap().starts_with("2024-07-15"), "{t}");
    assert!(sites["crs"].as_array().unwrap().iter().any(|c| c == UTM));
    assert_eq!(link(&sites, "items").unwrap()["type"], "application/geo+json");
    app.get("/ogc/collections/nothing").await.problem(StatusCode::NOT_FOUND);
    app.get("/ogc/collections/nothing/items").await.problem(StatusCode::NOT_FOUND);
    app.get("/ogc/collections/sites/items/S-99").await.problem(StatusCode::NOT_FOUND);
    app.get("/ogc/conformance?foo=1").await.problem(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn municipalities_carry_coverage_properties() {
    let app = App::new().await;
    app.fixture().await;
    let r = app.get("/ogc/collections/municipalities/items").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type").as_deref(), Some("application/geo+json"));
    assert_eq!(r.header("content-crs").as_deref(), Some(format!("<{CRS84}>").as_str()));
    let j = r.json();
    assert_eq!(j["numberMatched"], 3);
    assert_eq!(j["numberReturned"], 3);
    let d = &j["features"][0];
    assert_eq!(d["id"], "05111000");
    let p = &d["properties"];
    assert_eq!(p["name"], "Düsseldorf");
    assert_eq!(p["household_share_5g"], 0.8);
    assert_eq!(p["area_share_5g"], 0.7);
    assert_eq!(p["household_share_lte"], 0.99);
    assert_eq!(p["dead_spot_area_km2"], 0.4);
    assert_eq!(p["area_km2"], 100.0);
    assert_eq!(d["geometry"]["type"], "MultiPolygon");
    // Köln has no figures yet: null shares, not zero.
    assert_eq!(j["features"][2]["properties"]["household_share_5g"], Value::Null);
    // Coordinates have at most 6 decimals.
    let text = String::from_utf8_lossy(&r.bytes).to_string();
    let coords = &d["geometry"]["coordinates"][0][0];
    for pt in coords.as_array().unwrap() {
        for c in pt.as_array().unwrap() {
            let s = c.to_string();
            let decimals = s.split('.').nth(1).map_or(0, str::len);
            assert!(decimals <= 6, "{s} in {}", &text[..200.min(text.len())]);
        }
    }
    let full = app.get("/ogc/collections/municipalities/items/05111000?geometry=full").await.json();
    assert_eq!(full["geometry"]["type"], "MultiPolygon");
    app.get("/ogc/collections/municipalities/items?geometry=huge").await.problem(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn paging_with_next_returns_every_feature_once() {
    let app = App::new().await;
    app.fixture().await;
    // 40 more sites on a grid inside Düsseldorf.
    app.sql(
        "INSERT INTO site (site_id, operator_id, geom, status, technologies)
         SELECT 'G-' || lpad(i::text, 3, '0'), 'telekom', ST_SetSRID(ST_MakePoint(341000 + (i % 8) * 1000, 5671000 + (i / 8) * 1000), 25832), 'on_air', '{lte}'
         FROM generate_series(1, 40) i",
    )
    .await;
    let mut url = "/ogc/collections/sites/items?limit=7".to_owned();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let j = app.get(&url).await.json();
        assert_eq!(j["numberMatched"], 44);
        let n = j["numberReturned"].as_u64().unwrap();
        assert_eq!(n as usize, j["features"].as_array().unwrap().len());
        for f in j["features"].as_array().unwrap() {
            seen.push(f["id"].as_str().unwrap().to_owned());
        }
        pages += 1;
        let self_link = link(&j, "self").unwrap();
        assert_eq!(self_link["type"], "application/geo+json");
        assert_eq!(link(&j, "alternate").unwrap()["type"], "application/json");
        match link(&j, "next") {
            Some(n) => {
                // Keyset paging: the next page continues after the last
                // id seen (a cursor), never at a growing offset.
                let href = n["href"].as_str().unwrap();
                assert!(href.contains("cursor=") && !href.contains("offset="), "{href}");
                assert_eq!(n["type"], "application/geo+json");
                url = path_of(href);
            }
            None => break,
        }
        assert!(pages < 20);
    }
    assert_eq!(pages, 7);
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(seen.len(), 44);
    assert_eq!(unique.len(), 44);
}

#[tokio::test]
async fn bbox_and_crs_both_ways() {
    let app = App::new().await;
    app.fixture().await;
    // S-1 lies at E 344000 N 5675000 (EPSG:25832) = lon 6.7668359, lat
    // 51.2050714 (cs2cs EPSG:25832 EPSG:4326).
    let f = app.get("/ogc/collections/sites/items/S-1").await.json();
    let c = f["geometry"]["coordinates"].as_array().unwrap();
    assert!((c[0].as_f64().unwrap() - 6.766_836).abs() < 2e-6, "{c:?}");
    assert!((c[1].as_f64().unwrap() - 51.205_071).abs() < 2e-6, "{c:?}");
    let r = app.get(&format!("/ogc/collections/sites/items/S-1?crs={}", enc(UTM))).await;
    assert_eq!(r.header("content-crs").as_deref(), Some(format!("<{UTM}>").as_str()));
    let c = r.json()["geometry"]["coordinates"].clone();
    assert_eq!(c, serde_json::json!([344000, 5675000]));

    // A small lon/lat box around S-1 only.
    let j = app.get("/ogc/collections/sites/items?bbox=6.76,51.20,6.77,51.21").await.json();
    let ids: Vec<&str> = j["features"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["S-1"]);
    assert_eq!(j["numberMatched"], 1);
    // The same box in metres: lon 6.754 lat 51.218 is E 343147.38 N 5676464.85.
    let j = app.get(&format!("/ogc/collections/sites/items?bbox=343000,5674000,345500,5676500&bbox-crs={}", enc(UTM))).await.json();
    let ids: Vec<&str> = j["features"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["S-1", "S-2"]);
    // A site placed by lon/lat lands at the right metres.
    app.sql("INSERT INTO site (site_id, operator_id, geom, status) VALUES ('P', 'telekom', ST_Transform(ST_SetSRID(ST_MakePoint(6.754, 51.218), 4326), 25832), 'planned')").await;
    let c = app.get(&format!("/ogc/collections/sites/items/P?crs={}", enc(UTM))).await.json()["geometry"]["coordinates"].clone();
    assert!((c[0].as_f64().unwrap() - 343_147.38).abs() < 0.02, "{c}");
    assert!((c[1].as_f64().unwrap() - 5_676_464.85).abs() < 0.02, "{c}");
    // Output in metres for a whole page; short CRS names are accepted.
    let r = app.get("/ogc/collections/sites/items?crs=EPSG:25832&bbox=6.76,51.20,6.77,51.21").await;
    assert_eq!(r.json()["features"][0]["geometry"]["coordinates"], serde_json::json!([344000, 5675000]));

    for bad in [
        "bbox=1,2,3",
        "bbox=a,b,c,d",
        "bbox=7,51,6,52",
        "crs=EPSG:4326",
        "bbox-crs=EPSG:3857&bbox=1,2,3,4",
        "bbox-crs=EPSG:25832",
        "limit=0",
        "limit=x",
        "offset=-1",
        "datetime=yesterday",
        "colour=red",
        "limit=5&limit=6",
        "f=xml",
    ] {
        let d = app.get(&format!("/ogc/collections/sites/items?{bad}")).await.problem(StatusCode::BAD_REQUEST);
        assert!(!d.is_empty(), "{bad}");
    }
    // A whole-world box finds everything; a box far away finds nothing.
    let j = app.get("/ogc/collections/sites/items?bbox=-180,-90,180,90").await.json();
    assert_eq!(j["numberMatched"], 5);
    let j = app.get("/ogc/collections/sites/items?bbox=-120,-50,-100,-40").await.json();
    assert_eq!(j["numberMatched"], 0);
    let j = app.get("/ogc/collections/sites/items?bbox=-1e300,-1e300,1e300,1e300&bbox-crs=EPSG:25832").await.json();
    assert_eq!(j["numberMatched"], 5);
    // limit above the maximum is cut, not refused.
    let j = app.get("/ogc/collections/sites/items?limit=20000").await.json();
    assert!(path_of(link(&j, "self").unwrap()["href"].as_str().unwrap()).contains("limit=10000"));
}

#[tokio::test]
async fn property_and_datetime_filters() {
    let app = App::new().await;
    app.fixture().await;
    let ids =
        |j: &Value| -> Vec<String> { j["features"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap().to_owned()).collect() };
    let j = app.get("/ogc/collections/sites/items?status=on_air&operator=telekom").await.json();
    assert_eq!(ids(&j), vec!["S-1"]);
    assert_eq!(j["numberMatched"], 1);
    let j = app.get("/ogc/collections/sites/items?status=on_air,planned").await.json();
    assert_eq!(ids(&j), vec!["S-1", "S-2", "S-4"]);
    let j = app.get("/ogc/collections/sites/items?technology=5g").await.json();
    assert_eq!(ids(&j), vec!["S-4"]);
    let j = app.get("/ogc/collections/sites/items?datetime=2024-01-01/2024-12-31").await.json();
    assert_eq!(ids(&j), vec!["S-4"]);
    let j = app.get("/ogc/collections/sites/items?datetime=../2023-12-31").await.json();
    assert_eq!(ids(&j), vec!["S-1"]);
    let j = app.get("/ogc/collections/sites/items?datetime=2024-07-15").await.json();
    assert_eq!(ids(&j), vec!["S-4"]);
    let j = app.get("/ogc/collections/measures/items?kind=5g_upgrade&status=completed").await.json();
    assert_eq!(ids(&j), vec!["M-3"]);
    // Measures sit at their site's point.
    let j = app.get("/ogc/collections/measures/items/M-1").await.json();
    let s = app.get("/ogc/collections/sites/items/S-1").await.json();
    assert_eq!(j["geometry"], s["geometry"]);
    assert_eq!(j["properties"]["operator"], "telekom");
    let j = app.get("/ogc/collections/dead-spots/items?ags=05111000").await.json();
    assert_eq!(ids(&j), vec!["05111000-1", "05111000-2"]);
    let j = app.get("/ogc/collections/municipalities/items?district=05315").await.json();
    assert_eq!(ids(&j), vec!["05315000"]);
    // A filter of another collection is unknown here.
    let d = app.get("/ogc/collections/dead-spots/items?status=on_air").await.problem(StatusCode::BAD_REQUEST);
    assert!(d.contains("status"), "{d}");
}

#[tokio::test]
async fn f_json_alternate_and_feature_links() {
    let app = App::new().await;
    app.fixture().await;
    let r = app.get("/ogc/collections/sites/items?f=json&limit=2").await;
    assert_eq!(r.header("content-type").as_deref(), Some("application/json"));
    let j = r.json();
    assert_eq!(link(&j, "alternate").unwrap()["type"], "application/geo+json");
    assert!(link(&j, "next").unwrap()["href"].as_str().unwrap().contains("f=json"));
    let f = app.get("/ogc/collections/sites/items/S-2").await.json();
    assert_eq!(f["type"], "Feature");
    assert_eq!(f["properties"]["status"], "planned");
    assert_eq!(link(&f, "self").unwrap()["href"], "http://test.local/ogc/collections/sites/items/S-2");
    assert_eq!(link(&f, "collection").unwrap()["href"], "http://test.local/ogc/collections/sites");
}

/// The data's licence attribution is in the OGC metadata (issue 15): the
/// real open data's where the municipalities are real, else "synthetic".
#[tokio::test]
async fn metadata_carries_the_datas_attribution() {
    let app = App::new().await;
    app.fixture().await;
    app.sql("UPDATE municipality SET synthetic = true").await;
    let landing = app.get("/ogc").await.json();
    assert!(landing["attribution"].as_str().unwrap().starts_with("Synthetische Demodaten"), "{landing}");
    app.sql("UPDATE municipality SET synthetic = false").await;
    for v in [app.get("/ogc").await.json(), app.get("/ogc/collections/municipalities").await.json()] {
        let a = v["attribution"].as_str().unwrap();
        assert!(a.contains("© GeoBasis-DE / BKG 2021") && a.contains("Zensus 2022") && a.contains("synthetisch"), "{a}");
    }
}

/// Whatever the catalog lists is served the same way: each collection's
/// items and, by the id found there, its features; one attribution for all
/// (asked once per request).
#[tokio::test]
async fn every_collection_of_the_catalog_is_served() {
    let app = App::new().await;
    app.fixture().await;
    let cols = app.get("/ogc/collections").await.json();
    let cols = cols["collections"].as_array().unwrap();
    let attribution = &cols[0]["attribution"];
    assert!(attribution.is_string());
    for c in cols {
        let id = c["id"].as_str().unwrap();
        assert_eq!(&c["attribution"], attribution, "{id}");
        assert_eq!(app.get(&format!("/ogc/collections/{id}")).await.json(), *c, "{id}");
        let r = app.get(&format!("/ogc/collections/{id}/items?limit=2")).await;
        assert_eq!(r.status, StatusCode::OK, "{id}");
        assert_eq!(r.header("content-type").as_deref(), Some("application/geo+json"), "{id}");
        let j = r.json();
        let features = j["features"].as_array().unwrap();
        assert!(!features.is_empty(), "{id}: no features in the fixture");
        assert!(j["numberMatched"].as_u64() >= j["numberReturned"].as_u64(), "{id}");
        let fid = features[0]["id"].as_str().unwrap();
        let f = app.get(&format!("/ogc/collections/{id}/items/{}", enc(fid))).await.json();
        assert_eq!(f["id"], features[0]["id"], "{id}");
        assert_eq!(f["properties"], features[0]["properties"], "{id}");
    }
}

/// OWSLib's `api()` asks for `/ogc/` and `/ogc/collections/`: a trailing
/// slash leads to the one canonical URL (308, query kept), never a 404.
#[tokio::test]
async fn trailing_slashes_lead_to_the_resource() {
    let app = App::new().await;
    app.fixture().await;
    for (from, to) in [
        ("/ogc/", "/ogc"),
        ("/ogc/collections/", "/ogc/collections"),
        ("/ogc/collections/sites/items/?limit=2&f=json", "/ogc/collections/sites/items?limit=2&f=json"),
        ("/api/v1/targets/", "/api/v1/targets"),
    ] {
        let r = app.get(from).await;
        assert_eq!(r.status, StatusCode::PERMANENT_REDIRECT, "{from}");
        assert_eq!(r.header("location").as_deref(), Some(to), "{from}");
        assert_eq!(app.get(to).await.status, StatusCode::OK, "{to}");
    }
    // Without a slash nothing changes; the web app's paths are the app's.
    assert_eq!(app.get("/ogc").await.status, StatusCode::OK);
    assert_eq!(app.get("/api/v1/nothing").await.status, StatusCode::NOT_FOUND);
}

/// Browsers get pages (issue 18 item 4): `f=html` or `Accept: text/html`,
/// server-rendered German HTML with the same content as the JSON, links
/// between the pages, no script; clients asking for JSON get JSON.
#[tokio::test]
async fn html_pages_for_browsers() {
    let app = App::new().await;
    app.fixture().await;
    let page = |r: &common::Resp| {
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.header("content-type").as_deref(), Some("text/html; charset=utf-8"));
        let h = String::from_utf8(r.bytes.to_vec()).unwrap();
        assert!(h.starts_with("<!doctype html>") && h.contains("<html lang=\"de\">") && !h.contains("<script"), "{h}");
        h
    };
    let h = page(&app.get("/ogc?f=html").await);
    assert!(h.contains("/ogc/collections?f=html"), "{h}");
    let h = page(&app.get_with("/ogc/collections", &[("accept", "text/html,application/xhtml+xml,*/*;q=0.8")]).await);
    for id in ["municipalities", "sites", "measures", "dead-spots"] {
        assert!(h.contains(&format!("/ogc/collections/{id}/items?f=html")), "{id}: {h}");
    }
    let j = app.get("/ogc/collections/sites/items?limit=1&f=json").await.json();
    let h = page(&app.get("/ogc/collections/sites/items?limit=1&f=html").await);
    assert!(h.contains(&format!("{} passende Objekte, 1 auf dieser Seite", j["numberMatched"])), "{h}");
    let id = j["features"][0]["id"].as_str().unwrap();
    assert!(h.contains(&format!("/ogc/collections/sites/items/{id}?f=html")), "{h}");
    assert!(h.contains("nächste Seite"), "{h}");
    let h = page(&app.get("/ogc/collections/municipalities/items/05111000?f=html").await);
    assert!(h.contains("Düsseldorf") && h.contains("/#/gemeinde/05111000"), "{h}");
    // JSON stays JSON, for GIS clients and when asked.
    let r = app.get_with("/ogc/collections", &[("accept", "application/json")]).await;
    assert_eq!(r.header("content-type").as_deref(), Some("application/json"));
    let c = app.get("/ogc/conformance").await.json();
    assert!(c["conformsTo"].as_array().unwrap().iter().any(|v| v.as_str().unwrap().ends_with("conf/html")));
    // Errors stay problem+json.
    let r = app.get("/ogc/collections/nothing/items?f=html").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// Each collection describes its properties with types (so GDAL types
/// dates and numbers) and names what it can be filtered by.
#[tokio::test]
async fn schema_and_queryables_type_the_properties() {
    let app = App::new().await;
    app.fixture().await;
    let r = app.get("/ogc/collections/sites/schema").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type").as_deref(), Some("application/schema+json"));
    let s = r.json();
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    let p = &s["properties"];
    assert_eq!(p["geometry"]["format"], "geometry-point");
    assert_eq!(p["site_id"]["x-ogc-role"], "id");
    assert_eq!(p["site_id"]["type"], "string");
    assert_eq!(p["planned_date"]["format"], "date", "{s}");
    assert_eq!(p["technologies"]["type"], "array");
    // Every property of a feature is in the schema.
    let f = app.get("/ogc/collections/sites/items?limit=1").await.json();
    for k in f["features"][0]["properties"].as_object().unwrap().keys() {
        assert!(p.get(k).is_some(), "{k} missing from the schema");
    }
    let m = app.get("/ogc/collections/municipalities/schema").await.json();
    assert_eq!(m["properties"]["household_share_5g"]["type"], "number", "{m}");
    assert_eq!(m["properties"]["computed_at"]["format"], "date-time", "{m}");
    let q = app.get("/ogc/collections/sites/queryables").await.json();
    assert_eq!(q["additionalProperties"], false);
    for k in ["status", "operator", "ags", "technology"] {
        assert!(q["properties"].get(k).is_some(), "{k}: {q}");
    }
    // The collection links both; unknown collections are 404.
    let c = app.get("/ogc/collections/sites").await.json();
    assert!(link(&c, "describedby").is_some_and(|l| l["href"].as_str().unwrap().ends_with("/ogc/collections/sites/schema")));
    assert_eq!(app.get("/ogc/collections/nothing/queryables").await.status, StatusCode::NOT_FOUND);
}

/// RFC 7946 removed the `crs` member: output in EPSG:25832 says its CRS in
/// the `Content-Crs` header only, features and single items alike.
#[tokio::test]
async fn no_crs_member_in_any_crs() {
    let app = App::new().await;
    app.fixture().await;
    for collection in ["sites", "municipalities", "dead-spots", "districts"] {
        let r = app.get(&format!("/ogc/collections/{collection}/items?limit=5&crs={}", enc(UTM))).await;
        assert_eq!(r.header("content-crs").as_deref(), Some(format!("<{UTM}>").as_str()));
        let j = r.json();
        for f in j["features"].as_array().unwrap() {
            assert!(f["geometry"].get("crs").is_none(), "{collection}: {f}");
            assert!(f.get("crs").is_none());
        }
        assert!(j.get("crs").is_none(), "{collection}");
    }
    let one = app.get(&format!("/ogc/collections/municipalities/items/05111000?crs={}", enc(UTM))).await.json();
    assert!(one["geometry"].get("crs").is_none(), "{one}");
}
