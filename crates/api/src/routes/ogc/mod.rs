//! OGC API – Features, Part 1 (Core, GeoJSON, OpenAPI 3.0) and Part 2
//! (CRS: CRS84 and EPSG:25832) under `/ogc`, over the collections of
//! [`crate::catalog`].
//!
//! Features are serialised by PostgreSQL (`ST_AsGeoJSON` with options 0:
//! no `crs` member in any CRS, as RFC 7946 has it — `Content-Crs` names the
//! CRS — and no `bbox`; one text per
//! feature joined with `string_agg`); Rust only wraps the joined text with
//! the collection's counts and links, so no per-request tree of the
//! features is ever built. Paging is by natural id, so `next` links visit
//! every feature exactly once.
//!
//! - [`landing`]: the landing page and the conformance declaration;
//! - [`collections`]: the collections' descriptions with their extents;
//! - [`features`]: the features, paged and filtered, and one by id;
//! - `params`: the query parameters, parsed and checked;
//! - `query`: the SQL of a features request;
//! - [`memory`]: point collections answered from memory (issue 19).

pub(crate) mod collections;
pub(crate) mod features;
mod filter;
pub(crate) mod landing;
pub(crate) mod memory;
mod params;
mod predicate;
mod query;
pub(crate) mod schema;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use params::Crs;

const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
const EPSG25832: &str = "http://www.opengis.net/def/crs/EPSG/0/25832";
const GEOJSON: &str = "application/geo+json";
const JSON: &str = "application/json";

/// A link object (OGC API, RFC 8288 fields).
fn link(href: &str, rel: &str, ty: &str, title: &str) -> Value {
    json!({"href": href, "rel": rel, "type": ty, "title": title})
}

fn json_response(v: &Value, content_type: &'static str) -> Response {
    let mut r = v.to_string().into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// A features body PostgreSQL serialised, with its media type and the CRS
/// of its coordinates (`Content-Crs`, Part 2).
fn features_response(body: String, content_type: &'static str, crs: Crs) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        "content-crs",
        HeaderValue::from_str(&format!("<{}>", crs.uri())).unwrap_or_else(|_| HeaderValue::from_static("<>")),
    );
    r
}
