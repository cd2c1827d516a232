//! The OpenAPI description (`/api/openapi.json`), generated from the
//! handlers' `#[utoipa::path]` attributes and served as OpenAPI 3.0.3, the
//! version OGC API – Features' `oas30` conformance class names. utoipa
//! writes 3.1; `downgrade` rewrites the few 3.1-only constructs it uses.
//!
//! This module depends on `routes` (it takes the paths of their table); the
//! schemas that handlers name live in the leaf [`schema`], so nothing
//! depends back.

pub mod schema;

use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some(
                "A token from `funkplan token create --role admin|staff|municipality:AGS`",
            )).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Funkplan NRW API", description = "Mobile-network rollout in North Rhine-Westphalia against the state's targets: targets, municipality coverage, sites and measures, OGC API – Features. Errors are application/problem+json (RFC 9457)."),
    components(schemas(crate::Problem, funkplan_targets::TargetStatus, routes::writes::NewSite, routes::writes::SitePatch,
        routes::writes::NewMeasure, routes::writes::MeasurePatch)),
    modifiers(&BearerAuth),
    tags(
        (name = "targets", description = "The state's targets, progress and forecast"),
        (name = "coverage", description = "Coverage figures per municipality"),
        (name = "sites", description = "Mobile sites (writes need a token)"),
        (name = "measures", description = "Build measures (writes need a token)"),
        (name = "audit", description = "Who changed what"),
        (name = "plans", description = "Dead-spot closing plans: the sites that close the most (writes need a token)"),
        (name = "ogc", description = "OGC API – Features Part 1 and 2"),
        (name = "meta", description = "Health, API description, metrics"),
    )
)]
struct ApiDoc;

/// The document as served: OpenAPI 3.0.3 JSON.
#[must_use]
pub fn document() -> Value {
    let mut api = ApiDoc::openapi();
    api.merge(routes::paths());
    let mut v = serde_json::to_value(api).unwrap_or(Value::Null);
    downgrade(&mut v);
    if let Some(o) = v.as_object_mut() {
        o.insert("openapi".into(), Value::String("3.0.3".into()));
    }
    // OGC clients (GDAL, QGIS) size their pages from the limit parameter's
    // schema; utoipa has no attribute for a parameter's default.
    if let Some(ps) = v
        .pointer_mut("/paths/~1ogc~1collections~1{collectionId}~1items/get/parameters")
        .and_then(Value::as_array_mut)
    {
        for p in ps.iter_mut().filter(|p| p["name"] == "limit") {
            if let Some(s) = p.get_mut("schema").and_then(Value::as_object_mut) {
                s.insert("default".into(), Value::from(100));
            }
        }
    }
    // `license.identifier` (SPDX) is 3.1 only.
    if let Some(l) = v.pointer_mut("/info/license").and_then(Value::as_object_mut) {
        l.remove("identifier");
    }
    v
}

pub(crate) fn document_bytes() -> bytes::Bytes {
    bytes::Bytes::from(document().to_string())
}

/// Rewrite OpenAPI 3.1 schema constructs into their 3.0 forms:
/// `"type": ["X", "null"]` → `"type": "X", "nullable": true`, and
/// `oneOf: [{"type": "null"}, S]` → `allOf: [S], nullable: true`.
fn downgrade(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if let Some(Value::Array(types)) = o.get("type").cloned() {
                let non_null: Vec<Value> = types.iter().filter(|t| t.as_str() != Some("null")).cloned().collect();
                let nullable = non_null.len() < types.len();
                match non_null.as_slice() {
                    [one] => {
                        o.insert("type".into(), one.clone());
                    }
                    _ => {
                        o.remove("type");
                    }
                }
                if nullable {
                    o.insert("nullable".into(), Value::Bool(true));
                }
            }
            if let Some(Value::Array(alts)) = o.get("oneOf").cloned() {
                let rest: Vec<Value> = alts
                    .iter()
                    .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
                    .cloned()
                    .collect();
                if rest.len() < alts.len() {
                    o.remove("oneOf");
                    o.insert("nullable".into(), Value::Bool(true));
                    if rest.len() == 1 {
                        o.insert("allOf".into(), Value::Array(rest));
                    } else {
                        o.insert("oneOf".into(), Value::Array(rest));
                    }
                }
            }
            // JSON Schema 2019 keyword utoipa adds to maps; 3.0 lacks it.
            o.remove("propertyNames");
            // 3.1 allows `examples` arrays in schemas; 3.0 has `example`.
            if let Some(Value::Array(ex)) = o.get("examples").cloned() {
                if o.contains_key("type") || o.contains_key("$ref") || o.contains_key("properties") {
                    o.remove("examples");
                    if let Some(first) = ex.into_iter().next() {
                        o.insert("example".into(), first);
                    }
                }
            }
            for (_, child) in o.iter_mut() {
                downgrade(child);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(downgrade),
        _ => {}
    }
}
