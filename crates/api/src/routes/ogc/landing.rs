//! The landing page and the conformance declaration.

use axum::extract::State;
use axum::response::Response;
use serde_json::json;

use super::collections::attribution;
use super::params::media;
use super::{json_response, link, JSON};
use crate::http::QueryPairs;
use crate::openapi::schema;
use crate::origin::Origin;
use crate::{ApiResult, AppState};

const CONFORMANCE: [&str; 19] = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/array-functions",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
];

/// Landing page.
#[utoipa::path(get, path = "/ogc", tag = "ogc",
    params(("f" = Option<String>, Query, description = "json")),
    responses((status = 200, description = "Landing page with links to the API description, conformance and collections", body = schema::OgcLanding)))]
pub(crate) async fn landing(State(state): State<AppState>, origin: Origin, q: QueryPairs) -> ApiResult<Response> {
    q.check(&["f"], |_| false)?;
    let ty = media(&q, false)?;
    let base = origin.base();
    let attribution = {
        let conn = state.db().conn().await?;
        attribution(&conn).await?
    };
    let body = json!({
        "title": "Funkplan NRW – OGC API – Features",
        "description": "Mobile sites, build measures, municipality coverage and LTE dead spots in North Rhine-Westphalia.",
        "attribution": attribution,
        "links": [
            link(&format!("{base}/ogc"), "self", JSON, "This document"),
            link(&format!("{base}/ogc?f=html"), "alternate", "text/html", "This document as a web page"),
            link(&format!("{base}/api/openapi.json"), "service-desc", "application/vnd.oai.openapi+json;version=3.0", "The API definition (OpenAPI 3.0)"),
            link(&format!("{base}/ogc/conformance"), "conformance", JSON, "Conformance classes implemented"),
            link(&format!("{base}/ogc/collections"), "data", JSON, "The feature collections"),
        ]
    });
    Ok(json_response(&body, ty))
}

/// Conformance classes implemented.
#[utoipa::path(get, path = "/ogc/conformance", tag = "ogc",
    params(("f" = Option<String>, Query, description = "json")),
    responses((status = 200, description = "The conformance classes", body = schema::OgcConformance)))]
pub(crate) async fn conformance(q: QueryPairs) -> ApiResult<Response> {
    q.check(&["f"], |_| false)?;
    let ty = media(&q, false)?;
    let all: Vec<&str> = CONFORMANCE.iter().chain(crate::routes::tiles::CONFORMANCE.iter()).copied().collect();
    Ok(json_response(&json!({"conformsTo": all}), ty))
}
