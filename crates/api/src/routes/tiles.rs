//! Vector tiles (issue 17): `/tiles/{tileset}/{z}/{x}/{y}.mvt` with a
//! TileJSON 3.0 document per tileset (`/tiles/{tileset}.json`), and the
//! same tiles as OGC API – Tiles Part 1 (WebMercatorQuad) under
//! `/ogc/collections/{id}/tiles/…`, with the tile matrix set's document.
//!
//! Addressing errors: a part that is no number → 400; a zoom beyond the
//! tileset's levels or a column/row outside the zoom's matrix → 404 (OGC
//! API – Tiles: a tile outside the tile matrix set limits does not exist).
//! A tile without features → 204. ETag and 304 come from the
//! conditional-GET layer (hash of the tile's bytes).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use funkplan_tiles::tile::{lonlat_to_merc, tile_at, HALF};
use funkplan_tiles::tilejson::BOUNDS;
use funkplan_tiles::{TileId, Tileset};
use serde_json::{json, Value};

use crate::http::QueryPairs;
use crate::origin::Origin;
use crate::tiles::{self, MVT};
use crate::{ApiError, ApiResult, AppState};

/// The one tile matrix set served.
const WMQ: &str = "WebMercatorQuad";
const WMQ_URI: &str = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad";
const EPSG_3857: &str = "http://www.opengis.net/def/crs/EPSG/0/3857";

/// The OGC API – Tiles conformance classes this module implements.
pub(crate) const CONFORMANCE: [&str; 5] = [
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
];

/// The query string to carry into tile URLs (the coverage view).
fn query_of(q: &QueryPairs) -> String {
    let pairs: Vec<String> = q.0.iter().filter(|(k, _)| k != "f").map(|(k, v)| format!("{k}={v}")).collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

async fn answer(state: &AppState, ts: &'static Tileset, t: TileId, q: &QueryPairs) -> ApiResult<Response> {
    let view = tiles::view(ts, q)?;
    Ok(match tiles::tile(state, ts, t, view).await? {
        Some(bytes) => ([(header::CONTENT_TYPE, HeaderValue::from_static(MVT))], Body::from(bytes)).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// One vector tile (Mapbox Vector Tile 2.1, one layer named as the tileset).
#[utoipa::path(get, path = "/tiles/{tileset}/{z}/{x}/{y}", tag = "tiles",
    params(
        ("tileset" = String, Path, description = "coverage, dead-spots, sites, municipalities, districts or regions"),
        ("z" = u8, Path, description = "Zoom (WebMercatorQuad tile matrix)"),
        ("x" = u32, Path, description = "Column"),
        ("y" = String, Path, description = "Row, with the suffix .mvt (e.g. 1369.mvt)"),
        ("scenario" = Option<bool>, Query, description = "coverage only: every planned measure completed"),
        ("datetime" = Option<String>, Query, description = "coverage only: the date (YYYY-MM-DD): the release in force then with the sites on air then"),
    ),
    responses(
        (status = 200, description = "The tile", content_type = "application/vnd.mapbox-vector-tile"),
        (status = 204, description = "The tile holds no feature"),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 400, description = "A part of the address is no number, or a bad query"),
        (status = 404, description = "No such tileset, or the tile lies outside its zoom levels or the tile matrix"),
        (status = 503, description = "coverage: the coverage engine is not running"),
    ))]
pub(crate) async fn tile(State(state): State<AppState>, Path((tileset, z, x, y)): Path<(String, String, String, String)>, q: QueryPairs) -> ApiResult<Response> {
    let ts = tiles::tileset(&tileset)?;
    let t = TileId::parse(&z, &x, &y, ts.maxzoom)?;
    answer(&state, ts, t, &q).await
}

/// TileJSON 3.0 of a tileset (`/tiles/coverage.json`), for MapLibre, QGIS
/// and GDAL; the query (`scenario`, `datetime`) is carried into the tile
/// URL.
#[utoipa::path(get, path = "/tiles/{tileset}", tag = "tiles",
    params(("tileset" = String, Path, description = "The tileset with the suffix .json, e.g. coverage.json")),
    responses((status = 200, description = "TileJSON 3.0", content_type = "application/json"),
              (status = 404, description = "No such tileset")))]
pub(crate) async fn tilejson(State(state): State<AppState>, origin: Origin, Path(tileset): Path<String>, q: QueryPairs) -> ApiResult<Response> {
    let id = tileset.strip_suffix(".json").unwrap_or(&tileset);
    let ts = tiles::tileset(id)?;
    tiles::view(ts, &q)?;
    let url = format!("{}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt{}", origin.base(), ts.id, query_of(&q));
    let attribution = attribution(&state).await;
    Ok(Json(ts.tilejson(&url, &attribution)).into_response())
}

/// The attribution of the data (as the OGC landing page states it).
async fn attribution(state: &AppState) -> String {
    match state.db().conn().await {
        Ok(c) => super::ogc::collections::attribution(&c).await.map(str::to_owned).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// The tile matrix set limits of a tileset: per zoom, the tiles covering
/// NRW's bounds.
fn limits(ts: &Tileset) -> Vec<Value> {
    let (x0, y1) = lonlat_to_merc(BOUNDS[0], BOUNDS[1]);
    let (x1, y0) = lonlat_to_merc(BOUNDS[2], BOUNDS[3]);
    (ts.minzoom..=ts.maxzoom)
        .map(|z| {
            let a = tile_at(z, x0, y0);
            let b = tile_at(z, x1, y1);
            json!({"tileMatrix": z.to_string(), "minTileRow": a.y, "maxTileRow": b.y, "minTileCol": a.x, "maxTileCol": b.x})
        })
        .collect()
}

fn tileset_doc(base: &str, ts: &Tileset, q: &str) -> Value {
    let own = format!("{base}/ogc/collections/{}/tiles/{WMQ}", ts.id);
    json!({
        "title": ts.title,
        "description": ts.description,
        "dataType": "vector",
        "crs": EPSG_3857,
        "tileMatrixSetURI": WMQ_URI,
        "tileMatrixSetLimits": limits(ts),
        "layers": [{"id": ts.id, "dataType": "vector", "minTileMatrix": ts.minzoom.to_string(), "maxTileMatrix": ts.maxzoom.to_string(),
                    "propertiesSchema": {"type": "object", "properties": ts.fields.iter().map(|(k, ty, d)| ((*k).to_owned(), json!({"type": if *ty == "Number" { "number" } else { "string" }, "description": d}))).collect::<serde_json::Map<_, _>>()}}],
        "links": [
            {"href": format!("{own}{q}"), "rel": "self", "type": "application/json", "title": "This tileset"},
            {"href": format!("{base}/ogc/tileMatrixSets/{WMQ}"), "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", "type": "application/json", "title": "WebMercatorQuad"},
            {"href": format!("{own}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}{q}"), "rel": "item", "type": MVT, "templated": true, "title": "The tiles"},
            {"href": format!("{base}/tiles/{}.json{q}", ts.id), "rel": "describedby", "type": "application/json", "title": "TileJSON 3.0"},
        ],
    })
}

/// The vector tilesets of a collection (one: WebMercatorQuad).
#[utoipa::path(get, path = "/ogc/collections/{collectionId}/tiles", tag = "ogc",
    params(("collectionId" = String, Path, description = "coverage, dead-spots, sites, municipalities, districts or regions")),
    responses((status = 200, description = "The tilesets list", content_type = "application/json"), (status = 404, description = "No tiles for this collection")))]
pub(crate) async fn ogc_tilesets(origin: Origin, Path(id): Path<String>, q: QueryPairs) -> ApiResult<Response> {
    let ts = tiles::tileset(&id)?;
    tiles::view(ts, &q)?;
    let base = origin.base();
    let mut doc = tileset_doc(base, ts, &query_of(&q));
    doc["links"] = json!([{"href": format!("{base}/ogc/collections/{}/tiles/{WMQ}{}", ts.id, query_of(&q)), "rel": "self", "type": "application/json", "title": "The tileset"}]);
    Ok(Json(json!({"tilesets": [doc], "links": [{"href": format!("{base}/ogc/collections/{}/tiles", ts.id), "rel": "self", "type": "application/json"}]})).into_response())
}

/// A collection's tileset in WebMercatorQuad (OGC API – Tiles tileset
/// metadata).
#[utoipa::path(get, path = "/ogc/collections/{collectionId}/tiles/{tileMatrixSetId}", tag = "ogc",
    params(("collectionId" = String, Path, description = "The tileset"), ("tileMatrixSetId" = String, Path, description = "WebMercatorQuad")),
    responses((status = 200, description = "Tileset metadata", content_type = "application/json"), (status = 404, description = "No such tileset or tile matrix set")))]
pub(crate) async fn ogc_tileset(origin: Origin, Path((id, tms)): Path<(String, String)>, q: QueryPairs) -> ApiResult<Response> {
    let ts = tiles::tileset(&id)?;
    check_tms(&tms)?;
    tiles::view(ts, &q)?;
    Ok(Json(tileset_doc(origin.base(), ts, &query_of(&q))).into_response())
}

fn check_tms(tms: &str) -> ApiResult<()> {
    if tms == WMQ {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!("no tile matrix set {tms:?}; the tiles are in {WMQ}")))
    }
}

/// One tile through the OGC path (row before column, as the standard
/// orders them).
#[utoipa::path(get, path = "/ogc/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}", tag = "ogc",
    params(("collectionId" = String, Path, description = "The tileset"), ("tileMatrixSetId" = String, Path, description = "WebMercatorQuad"),
           ("tileMatrix" = u8, Path, description = "Zoom"), ("tileRow" = u32, Path, description = "Row"), ("tileCol" = u32, Path, description = "Column"),
           ("scenario" = Option<bool>, Query, description = "coverage only"), ("datetime" = Option<String>, Query, description = "coverage only")),
    responses((status = 200, description = "The tile", content_type = "application/vnd.mapbox-vector-tile"), (status = 204, description = "Empty tile"),
              (status = 400, description = "Not a number"), (status = 404, description = "Outside the tile matrix set limits")))]
pub(crate) async fn ogc_tile(State(state): State<AppState>, Path((id, tms, z, row, col)): Path<(String, String, String, String, String)>, q: QueryPairs) -> ApiResult<Response> {
    let ts = tiles::tileset(&id)?;
    check_tms(&tms)?;
    let t = TileId::parse(&z, &col, &row, ts.maxzoom)?;
    answer(&state, ts, t, &q).await
}

/// The tile matrix sets offered.
#[utoipa::path(get, path = "/ogc/tileMatrixSets", tag = "ogc",
    responses((status = 200, description = "The tile matrix sets", content_type = "application/json")))]
pub(crate) async fn tile_matrix_sets(origin: Origin) -> ApiResult<Response> {
    let base = origin.base();
    Ok(Json(json!({"tileMatrixSets": [{"id": WMQ, "title": "Google Maps Compatible for the World", "uri": WMQ_URI,
        "links": [{"href": format!("{base}/ogc/tileMatrixSets/{WMQ}"), "rel": "self", "type": "application/json"}]}]}))
    .into_response())
}

/// The WebMercatorQuad tile matrix set (OGC Two Dimensional Tile Matrix
/// Set 2.0, as its registry defines it).
#[utoipa::path(get, path = "/ogc/tileMatrixSets/{tileMatrixSetId}", tag = "ogc",
    params(("tileMatrixSetId" = String, Path, description = "WebMercatorQuad")),
    responses((status = 200, description = "The tile matrix set", content_type = "application/json"), (status = 404, description = "Not offered")))]
pub(crate) async fn tile_matrix_set(Path(tms): Path<String>) -> ApiResult<Response> {
    check_tms(&tms)?;
    let matrices: Vec<Value> = (0..=funkplan_tiles::tile::MAX_ZOOM)
        .map(|z| {
            let n = 1u32 << z;
            let cell = 2.0 * HALF / 256.0 / f64::from(n);
            json!({"id": z.to_string(), "scaleDenominator": cell / 0.00028, "cellSize": cell, "cornerOfOrigin": "topLeft",
                   "pointOfOrigin": [-HALF, HALF], "tileWidth": 256, "tileHeight": 256, "matrixWidth": n, "matrixHeight": n})
        })
        .collect();
    Ok(Json(json!({"id": WMQ, "title": "Google Maps Compatible for the World", "uri": WMQ_URI, "crs": EPSG_3857,
        "orderedAxes": ["X", "Y"], "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible", "tileMatrices": matrices}))
    .into_response())
}
