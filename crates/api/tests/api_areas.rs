//! Districts and Regierungsbezirke (issue 15): figures summed from their
//! municipalities' engine results — counts added, shares divided once —
//! over the router on a real database.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::App;

#[tokio::test]
async fn a_region_sums_counts_and_divides_once() {
    let app = App::new().await;
    app.fixture().await;
    // Regierungsbezirk 051 holds Düsseldorf (800 of 1000 households with 5G)
    // and Duisburg (100 of 500): 900 / 1500 = 0.6, not the mean of 0.8 and 0.2.
    let r = app.get("/api/v1/regions/051").await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["level"], "region");
    assert_eq!(v["name"], "Regierungsbezirk Düsseldorf");
    assert_eq!(v["kind"], "Regierungsbezirk");
    assert_eq!(v["households"], 1500.0);
    assert_eq!(v["coverage"]["5g"]["households_covered"], 900.0);
    assert_eq!(v["coverage"]["5g"]["household_share"], 0.6);
    assert_eq!(v["coverage"]["5g"]["area_share"], 0.475); // (7000 + 2500) / 20000
    assert_eq!(v["coverage"]["lte"]["dead_spot_area_km2"], 0.4); // 40 cells
    // Per operator only where the municipalities have them: over the region's households.
    assert_eq!(v["coverage"]["5g"]["operators"]["telekom"]["household_share"], 0.5);
    let members: Vec<&str> = v["municipalities"].as_array().unwrap().iter().map(|m| m["ags"].as_str().unwrap()).collect();
    assert_eq!(members, ["05111000", "05112000"]);
    assert_eq!(v["municipalities"][1]["household_share_5g"], 0.2);
    assert_eq!(v["sites"]["on_air"], 1);
    assert_eq!(v["sites"]["construction"], 1);
}

#[tokio::test]
async fn a_kreisfreie_stadt_is_its_municipality_named_from_the_data() {
    let app = App::new().await;
    app.fixture().await;
    let d = app.get("/api/v1/districts/05111").await.json();
    let m = app.get("/api/v1/municipalities/05111000").await.json();
    assert_eq!(d["name"], "Düsseldorf");
    assert_eq!(d["kind"], "Kreisfreie Stadt");
    for k in ["households", "coverage", "scenario", "sites", "measures", "source", "computed_at"] {
        assert_eq!(d[k], m[k], "{k}");
    }
    // Unknown and malformed keys.
    app.get("/api/v1/districts/05999").await.problem(StatusCode::NOT_FOUND);
    for bad in ["0511", "051110", "05a11", "%25"] {
        app.get(&format!("/api/v1/districts/{bad}")).await.problem(StatusCode::BAD_REQUEST);
    }
    app.get("/api/v1/regions/05").await.problem(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn districts_and_regions_are_ogc_collections_with_outlines() {
    let app = App::new().await;
    app.fixture().await;
    let d = app.get("/ogc/collections/districts/items?crs=http://www.opengis.net/def/crs/EPSG/0/25832").await.json();
    assert_eq!(d["numberMatched"], 3);
    let f = &d["features"][0];
    assert_eq!(f["id"], "05111");
    assert_eq!(f["properties"]["household_share_5g"], 0.8);
    assert_eq!(f["properties"]["municipalities"], 1);
    assert_eq!(f["geometry"]["type"], "MultiPolygon");
    let r = app.get("/ogc/collections/regions/items").await.json();
    let ids: Vec<&str> = r["features"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["051", "053"]);
    assert_eq!(r["features"][0]["properties"]["household_share_5g"], 0.6);
    assert_eq!(r["features"][0]["properties"]["municipalities"], 2);
    // The union of two 10 km squares: 200 km².
    assert_eq!(r["features"][0]["properties"]["area_km2"], 200.0);
    // A bbox around Köln only.
    let k = app.get("/ogc/collections/regions/items?bbox=355000,5645000,355100,5645100&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/25832").await.json();
    assert_eq!(k["numberMatched"], 1);
    assert_eq!(k["features"][0]["id"], "053");
}

#[tokio::test]
async fn a_kreis_has_its_official_name_here_and_in_the_ogc_collection() {
    let app = App::new().await;
    app.fixture().await;
    app.sql(
        "INSERT INTO municipality (ags, name, kind, population, households, geom) VALUES \
         ('05162004', 'Dormagen', 'Stadt', 64000, 30000, ST_Multi(ST_MakeEnvelope(350000, 5660000, 352000, 5662000, 25832))), \
         ('05162008', 'Grevenbroich', 'Stadt', 64000, 30000, ST_Multi(ST_MakeEnvelope(352000, 5660000, 354000, 5662000, 25832)))",
    )
    .await;
    let d = app.get("/api/v1/districts/05162").await.json();
    assert_eq!((d["name"].as_str(), d["kind"].as_str()), (Some("Rhein-Kreis Neuss"), Some("Kreis")));
    let f = app.get("/ogc/collections/districts/items/05162").await.json();
    assert_eq!(f["properties"]["name"], "Rhein-Kreis Neuss");
    let r = app.get("/ogc/collections/regions/items/053").await.json();
    assert_eq!(r["properties"]["name"], "Regierungsbezirk Köln");
}
