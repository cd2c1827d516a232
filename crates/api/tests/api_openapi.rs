//! The OpenAPI description: valid OpenAPI 3.0 and complete, i.e. every
//! route of the router is described with its path parameters.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeSet, HashSet};

use axum::http::StatusCode;
use serde_json::Value;

fn resolve<'a>(doc: &'a Value, r: &str) -> Option<&'a Value> {
    let path = r.strip_prefix("#/")?;
    let mut v = doc;
    for part in path.split('/') {
        v = v.get(part.replace("~1", "/").replace("~0", "~"))?;
    }
    Some(v)
}

fn check_refs(doc: &Value, v: &Value, bad: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get("$ref") {
                if resolve(doc, r).is_none() {
                    bad.push(r.clone());
                }
            }
            if let Some(Value::Array(_)) = o.get("type") {
                bad.push("3.1-style type array".into());
            }
            for k31 in ["propertyNames", "prefixItems", "const", "contentMediaType"] {
                if o.contains_key(k31) {
                    bad.push(format!("3.1 keyword {k31}"));
                }
            }
            o.values().for_each(|c| check_refs(doc, c, bad));
        }
        Value::Array(a) => a.iter().for_each(|c| check_refs(doc, c, bad)),
        _ => {}
    }
}

#[tokio::test]
async fn openapi_is_valid_30_and_covers_every_route() {
    let app = common::App::new().await;
    let r = app.get("/api/openapi.json").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").unwrap().starts_with("application/vnd.oai.openapi+json"));
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.0."));
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let paths = doc["paths"].as_object().unwrap();

    let mut ids = HashSet::new();
    for (p, item) in paths {
        for (m, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{m} {p}: no operationId"));
            assert!(ids.insert(id.to_owned()), "operationId {id} not unique");
        }
    }
    assert!(doc["info"]["license"].get("identifier").is_none(), "3.1-only license.identifier");
    let mut missing = Vec::new();
    let mut routes = BTreeSet::new();
    for (method, path) in funkplan_api::route_table() {
        routes.insert(path);
        let m = method.as_str().to_lowercase();
        let Some(op) = paths.get(path).and_then(|p| p.get(&m)) else {
            missing.push(format!("{method} {path}"));
            continue;
        };
        assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path}: no responses");
        // Every {param} of the template is declared as a path parameter.
        let declared: HashSet<&str> = op["parameters"]
            .as_array()
            .map(|ps| ps.iter().filter(|p| p["in"] == "path").map(|p| p["name"].as_str().unwrap()).collect())
            .unwrap_or_default();
        for seg in path.split('/').filter(|s| s.starts_with('{')) {
            let name = seg.trim_matches(|c| c == '{' || c == '}');
            assert!(declared.contains(name), "{method} {path}: path parameter {name} undeclared");
        }
        if m == "post" || m == "patch" {
            assert!(op["requestBody"]["content"]["application/json"]["schema"].is_object(), "{method} {path}: no body schema");
            assert!(op["security"].is_array(), "{method} {path}: no security");
        }
    }
    assert!(missing.is_empty(), "routes missing from /api/openapi.json: {missing:?}");
    // And nothing described that the router does not serve.
    for p in paths.keys() {
        assert!(routes.contains(p.as_str()), "{p} described but not routed");
    }
    // Route table sanity: the endpoints of DESIGN §7 are all there.
    for p in ["/api/v1/targets/{id}/history", "/ogc/collections/{collectionId}/items/{featureId}", "/metrics", "/api/v1/audit"] {
        assert!(routes.contains(p), "{p} not routed");
    }
    let mut bad = Vec::new();
    check_refs(&doc, &doc, &mut bad);
    assert!(bad.is_empty(), "broken: {bad:?}");
    assert!(doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer");
    for s in ["Problem", "NewSite", "SitePatch", "NewMeasure", "MeasurePatch", "TargetStatus", "MunicipalityFigures", "FeatureCollection"] {
        assert!(doc["components"]["schemas"].get(s).is_some(), "schema {s} missing");
    }
}
