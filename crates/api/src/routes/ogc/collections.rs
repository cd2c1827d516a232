//! The collections' descriptions: the catalog's words plus what only the
//! data knows, the extent in space and time and the attribution.

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use funkplan_db::{Conn, Error as DbError};
use serde_json::{json, Value};

use super::params::media;
use super::{json_response, link, CRS84, EPSG25832, GEOJSON, JSON};
use crate::catalog::{self, Collection};
use crate::http::{ApiPath, QueryPairs};
use crate::openapi::schema;
use crate::origin::Origin;
use crate::{ApiResult, AppState};

/// NRW's bounds in CRS84: the extent of a collection with no features yet.
const NRW_BBOX: [f64; 4] = [5.86, 50.32, 9.46, 52.53];

/// The extent of a collection in CRS84 and time.
async fn extent(conn: &Conn, c: &Collection) -> Result<Value, DbError> {
    let stmt = conn.prepare_cached(&c.extent_sql()).await.map_err(DbError::pg("preparing the extent query"))?;
    let r = conn.query_one(&stmt, &[]).await.map_err(DbError::pg("reading a collection's extent"))?;
    let col = |name: &str| -> Result<Option<f64>, DbError> {
        let v: Option<f64> = r.try_get(name).map_err(DbError::pg("reading a collection's extent"))?;
        Ok(v.map(|v| (v * 1e6).round() / 1e6))
    };
    let bbox = [col("xmin")?, col("ymin")?, col("xmax")?, col("ymax")?];
    // An empty collection still has a (state-wide) extent: NRW's bounds.
    let bbox = if bbox.iter().all(Option::is_some) { json!(bbox) } else { json!(NRW_BBOX) };
    let lo: Option<DateTime<Utc>> = r.try_get("lo").map_err(DbError::pg("reading a collection's extent"))?;
    let hi: Option<DateTime<Utc>> = r.try_get("hi").map_err(DbError::pg("reading a collection's extent"))?;
    Ok(json!({
        "spatial": {"bbox": [bbox], "crs": CRS84},
        "temporal": {"interval": [[lo, hi]], "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    }))
}

/// The licence attribution of the data behind the API (OGC API – Common's
/// `attribution`): the real open data where the municipalities are real
/// (`data/README.md` of the repository), else the note that all is
/// synthetic. Sites and measures are synthetic either way: no real list of
/// mobile sites is open. The same for every collection, so asked once per
/// request.
pub(crate) async fn attribution(conn: &Conn) -> Result<&'static str, DbError> {
    let what = "reading whether the municipalities are real";
    let real: bool = conn
        .query_one("SELECT coalesce(bool_or(NOT synthetic), false) AS real FROM municipality", &[])
        .await
        .map_err(DbError::pg(what))?
        .try_get("real")
        .map_err(DbError::pg(what))?;
    Ok(if real {
        "Gemeindegrenzen: © GeoBasis-DE / BKG 2021 (Daten verändert); Haushalte: © Statistisches Bundesamt (Destatis), \
         Zensus 2022 — beide Datenlizenz Deutschland – Namensnennung 2.0. Standorte, Maßnahmen und Versorgung: synthetisch."
    } else {
        "Synthetische Demodaten (Gemeinden, Haushalte, Standorte, Maßnahmen und Versorgung)."
    })
}

/// A collection's description with its `attribution` and extent.
async fn collection_json(conn: &Conn, base: &str, c: &Collection, attribution: &str) -> Result<Value, DbError> {
    let url = format!("{base}/ogc/collections/{}", c.id);
    let mut v = json!({
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "attribution": attribution,
        "itemType": "feature",
        "extent": extent(conn, c).await?,
        "crs": [CRS84, EPSG25832],
        "storageCrs": EPSG25832,
        "links": [
            link(&url, "self", JSON, "This collection"),
            link(&format!("{url}/items"), "items", GEOJSON, "The features (GeoJSON)"),
            link(&format!("{url}/items?f=json"), "items", JSON, "The features (JSON)"),
            link(&format!("{url}/schema"), "describedby", "application/schema+json", "The features' properties with their types (JSON Schema)"),
            link(&format!("{url}/queryables"), "http://www.opengis.net/def/rel/ogc/1.0/queryables", "application/schema+json", "The properties to filter by"),
        ]
    });
    // OGC API – Tiles (issue 17): the collection's vector tiles.
    if let (Some(_), Some(links)) = (funkplan_tiles::Tileset::get(c.id), v["links"].as_array_mut()) {
        links.push(link(&format!("{url}/tiles"), "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector", JSON, "The vector tiles (OGC API – Tiles)"));
    }
    Ok(v)
}

/// All collections.
#[utoipa::path(get, path = "/ogc/collections", tag = "ogc",
    params(("f" = Option<String>, Query, description = "json")),
    responses((status = 200, description = "The collections with their extents", body = schema::OgcCollections)))]
pub(crate) async fn collections(State(state): State<AppState>, origin: Origin, q: QueryPairs) -> ApiResult<Response> {
    q.check(&["f"], |_| false)?;
    let ty = media(&q, false)?;
    let base = origin.base();
    let conn = state.db().conn().await?;
    let attribution = attribution(&conn).await?;
    let mut list = Vec::with_capacity(catalog::all().len());
    for c in catalog::all() {
        list.push(collection_json(&conn, base, c, attribution).await?);
    }
    drop(conn);
    let body = json!({
        "links": [link(&format!("{base}/ogc/collections"), "self", JSON, "The collections")],
        "crs": [CRS84, EPSG25832],
        "collections": list
    });
    Ok(json_response(&body, ty))
}

/// One collection.
#[utoipa::path(get, path = "/ogc/collections/{collectionId}", tag = "ogc",
    params(("collectionId" = String, Path, description = "municipalities, sites, measures, dead-spots, districts or regions"),
           ("f" = Option<String>, Query, description = "json")),
    responses(
        (status = 200, description = "The collection with its extent", body = schema::OgcCollection),
        (status = 404, description = "Unknown collection", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn collection_meta(
    State(state): State<AppState>,
    origin: Origin,
    ApiPath(id): ApiPath<String>,
    q: QueryPairs,
) -> ApiResult<Response> {
    let c = catalog::get(&id)?;
    q.check(&["f"], |_| false)?;
    let ty = media(&q, false)?;
    let conn = state.db().conn().await?;
    let attribution = attribution(&conn).await?;
    let body = collection_json(&conn, origin.base(), c, attribution).await?;
    drop(conn);
    Ok(json_response(&body, ty))
}
