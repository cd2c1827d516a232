//! A collection's JSON Schemas: `/schema`, every property with its type
//! (OGC API – Features Part 5), so GDAL and QGIS type dates and numbers;
//! `/queryables` (Part 3), the properties a request can filter by (CQL2
//! `filter`, `sortby`, query parameters) and the geometry. Types are read
//! off the features' values ([`crate::catalog::schema`]).

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::catalog::{self, schema::PropType, Collection};
use crate::http::{ApiPath, QueryPairs};
use crate::origin::Origin;
use crate::{ApiResult, AppState};

const DRAFT: &str = "https://json-schema.org/draft/2020-12/schema";

fn schema_response(v: &Value) -> Response {
    let mut r = v.to_string().into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/schema+json"));
    r
}

/// The GeoJSON geometry type as the Part 5 `format` names it.
fn geometry_format(g: Option<&str>) -> &'static str {
    match g.map(str::to_ascii_uppercase).as_deref() {
        Some("POINT") => "geometry-point",
        Some("MULTIPOINT") => "geometry-multipoint",
        Some("POLYGON") => "geometry-polygon",
        Some("MULTIPOLYGON") => "geometry-multipolygon",
        Some("LINESTRING") => "geometry-linestring",
        Some("MULTILINESTRING") => "geometry-multilinestring",
        _ => "geometry-any",
    }
}

/// The property `name`'s schema with its title and, for the id, its role.
fn property(c: &Collection, name: &str, t: PropType) -> Value {
    let mut p = t.json_schema();
    p["title"] = json!(name);
    if c.id_expr.ends_with(&format!(".{name}")) {
        p["x-ogc-role"] = json!("id");
    }
    p
}

/// `GET /ogc/collections/{collectionId}/schema`.
#[utoipa::path(get, path = "/ogc/collections/{collectionId}/schema", tag = "ogc",
    params(("collectionId" = String, Path, description = "municipalities, sites, measures, dead-spots, districts, regions or state"),
           ("f" = Option<String>, Query, description = "json")),
    responses(
        (status = 200, description = "JSON Schema (2020-12) of the features' properties, with dates as format date/date-time", body = Object, content_type = "application/schema+json"),
        (status = 404, description = "Unknown collection", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn schema(State(state): State<AppState>, origin: Origin, ApiPath(id): ApiPath<String>, q: QueryPairs) -> ApiResult<Response> {
    let c = catalog::get(&id)?;
    q.check(&["f"], |_| false)?;
    let conn = state.db().conn().await?;
    let (props, geometry) = catalog::schema::properties(&conn, c).await?;
    drop(conn);
    let mut properties = Map::new();
    properties.insert("geometry".into(), json!({"x-ogc-role": "primary-geometry", "format": geometry_format(geometry.as_deref())}));
    for (name, t) in &props {
        properties.insert(name.clone(), property(c, name, *t));
    }
    Ok(schema_response(&json!({
        "$schema": DRAFT,
        "$id": format!("{}/ogc/collections/{}/schema", origin.base(), c.id),
        "type": "object",
        "title": c.title,
        "description": c.description,
        "properties": properties,
    })))
}

/// `GET /ogc/collections/{collectionId}/queryables`.
#[utoipa::path(get, path = "/ogc/collections/{collectionId}/queryables", tag = "ogc",
    params(("collectionId" = String, Path, description = "municipalities, sites, measures, dead-spots, districts, regions or state"),
           ("f" = Option<String>, Query, description = "json")),
    responses(
        (status = 200, description = "JSON Schema of the properties that filter the items: in a CQL2 filter, in sortby and as query parameters (`?name=value`; the catalog's filters take `?name=v1,v2`)", body = Object, content_type = "application/schema+json"),
        (status = 404, description = "Unknown collection", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn queryables(State(state): State<AppState>, origin: Origin, ApiPath(id): ApiPath<String>, q: QueryPairs) -> ApiResult<Response> {
    let c = catalog::get(&id)?;
    q.check(&["f"], |_| false)?;
    let conn = state.db().conn().await?;
    let (props, geometry) = catalog::schema::properties(&conn, c).await?;
    let cols = catalog::columns::columns(&conn, c).await?;
    drop(conn);
    let mut properties = Map::new();
    // The geometry, for the CQL2 spatial predicates.
    properties.insert(
        super::filter::GEOMETRY.into(),
        json!({"x-ogc-role": "primary-geometry", "format": geometry_format(geometry.as_deref()),
               "description": "the features' geometry, for S_INTERSECTS and the other spatial predicates of a filter"}),
    );
    for f in c.filters {
        // A filter on an array property (sites' `technology` on
        // `technologies`) takes one of its strings.
        let t = props.iter().find(|(n, _)| n == f.name).map_or(PropType::Text, |(_, t)| *t);
        let mut p = property(c, f.name, t);
        p["description"] = json!(match f.how {
            catalog::Match::Eq => "equals one of the comma-separated values",
            catalog::Match::Contains => "the feature's list holds one of the comma-separated values",
        });
        properties.insert(f.name.into(), p);
    }
    // Every other property filters and sorts too: in a CQL2 filter, in
    // sortby, and as `name=value` (equality, the value read as its type).
    for col in cols.queryable() {
        if properties.contains_key(col.name) {
            continue;
        }
        let t = props.iter().find(|(n, _)| n == col.name).map_or(PropType::Text, |(_, t)| *t);
        let mut p = property(c, col.name, t);
        p["description"] = json!("equals the value (name=value); in filter and sortby");
        properties.insert(col.name.into(), p);
    }
    Ok(schema_response(&json!({
        "$schema": DRAFT,
        "$id": format!("{}/ogc/collections/{}/queryables", origin.base(), c.id),
        "type": "object",
        "title": c.title,
        "properties": properties,
        "additionalProperties": false,
    })))
}
