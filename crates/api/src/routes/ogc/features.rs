//! The features of a collection: a page of them, filtered, or one by id.

use axum::extract::State;
use axum::response::Response;
use chrono::Utc;
use funkplan_db::Error as DbError;
use serde_json::json;

use super::params::{full_geometry, media, Crs, ItemsQuery};
use super::{features_response, link, query, GEOJSON, JSON};
use crate::catalog::{self, Collection};
use crate::http::{ApiPath, QueryPairs};
use crate::openapi::schema;
use crate::origin::Origin;
use crate::{ApiError, ApiResult, AppState};

/// The features of a collection, paged, filtered, in CRS84 or EPSG:25832.
#[utoipa::path(get, path = "/ogc/collections/{collectionId}/items", tag = "ogc",
    params(
        ("collectionId" = String, Path, description = "municipalities, sites, measures, dead-spots, districts or regions"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 10000, description = "Features per page, 1..10000 (larger values are cut to 10000), default 100"),
        ("offset" = Option<i64>, Query, minimum = 0, description = "Features to skip (next links continue by cursor instead); not with cursor"),
        ("bbox" = Option<String>, Query, description = "minx,miny,maxx,maxy in bbox-crs (default CRS84 lon/lat)", example = "6.7,51.1,6.9,51.3"),
        ("bbox-crs" = Option<String>, Query, description = "CRS of bbox: http://www.opengis.net/def/crs/OGC/1.3/CRS84 or http://www.opengis.net/def/crs/EPSG/0/25832"),
        ("crs" = Option<String>, Query, description = "CRS of the output coordinates (CRS84 or EPSG:25832 URI)"),
        ("datetime" = Option<String>, Query, description = "RFC 3339 instant, date or interval (a/b, ../b, a/..). Sites, measures, dead spots: the features whose instant (on-air date; completed, else planned date; computed_at) lies in it. Municipalities, districts, regions, state: every feature with its figures at that date (an instant's or date's calendar date; an interval's end, today for an open end), i.e. the coverage release in force then (the latest with as-of ≤ the date) combined with the sites on air then, as ?as_of= gives them; 2019-01-01 … today (else 400); before the first release the reported part is empty (release null, the sites on air then only); scenario shares null; the page names the date (as_of) and the release. extent.temporal: the first and last release date"),
        ("f" = Option<String>, Query, description = "geojson (default) or json"),
        ("geometry" = Option<String>, Query, description = "municipalities only: simplified (default) or full"),
        ("status" = Option<String>, Query, description = "sites, measures: status (comma-separated for any of several)"),
        ("operator" = Option<String>, Query, description = "sites, measures: operator id"),
        ("ags" = Option<String>, Query, description = "all collections: municipality key"),
        ("technology" = Option<String>, Query, description = "sites: technology on air (lte, 5g)"),
        ("kind" = Option<String>, Query, description = "measures: kind; municipalities: VG250 kind"),
        ("site_id" = Option<String>, Query, description = "measures: site id"),
        ("name" = Option<String>, Query, description = "municipalities: exact name"),
        ("district" = Option<String>, Query, description = "municipalities: 5-digit district key; every other queryable (see /queryables) is a parameter too: name=value, equality with the value read as the property's type"),
        ("filter" = Option<String>, Query, description = "OGC API – Features Part 3: a CQL2 filter over the collection's queryables (see /queryables) and the property `geometry`: comparisons, AND/OR/NOT, LIKE, IN, BETWEEN, IS NULL, CASEI, S_INTERSECTS and the other S_* predicates with WKT, GeoJSON or BBOX, A_* on arrays, T_INTERSECTS/T_DISJOINT/T_BEFORE/T_AFTER/T_EQUALS on dated properties", example = "status = 'on_air' AND S_INTERSECTS(geometry, BBOX(6.7,51.1,6.9,51.3))"),
        ("filter-lang" = Option<String>, Query, description = "cql2-text (default) or cql2-json"),
        ("filter-crs" = Option<String>, Query, description = "CRS of the filter's geometries: CRS84 (default) or EPSG:25832 URI"),
        ("sortby" = Option<String>, Query, description = "Properties to sort by, comma-separated, each with + (ascending, default) or - (descending); ties by id", example = "-on_air_date,site_id"),
        ("properties" = Option<String>, Query, description = "Properties to serve, comma-separated (default: all)"),
        ("skipGeometry" = Option<bool>, Query, description = "true: every geometry is null"),
        ("cursor" = Option<String>, Query, description = "Continue after the feature a 'next' link names (keyset paging: every page costs the same); not with offset"),
    ),
    responses(
        (status = 200, description = "A page of features", body = schema::FeatureCollection, content_type = "application/geo+json",
         headers(("Content-Crs" = String, description = "CRS of the coordinates, as <URI>"))),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 400, description = "Unknown or malformed parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown collection", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn items(
    State(state): State<AppState>,
    origin: Origin,
    ApiPath(id): ApiPath<String>,
    headers: axum::http::HeaderMap,
    q: QueryPairs,
) -> ApiResult<Response> {
    let c = catalog::get(&id)?;
    let cols = match catalog::columns::cached(c) {
        Some(cols) => cols,
        None => {
            let conn = state.db().conn().await?;
            catalog::columns::columns(&conn, c).await?
        }
    };
    let iq = ItemsQuery::parse(c, cols, &q)?;
    let ty = media(&q, true)?;
    // `datetime` on a coverage collection: the engine's figures at that
    // date (issue 16), read by the SQL path instead of today's.
    let figures = match iq.at {
        Some(date) => Some(crate::routes::dated::coverage_at(&state, date).await?),
        None => None,
    };
    // Point collections from memory while their snapshot is of the current
    // data version (super::memory); everything else, and everything while
    // no version is known, from SQL.
    // Not for a consistency token past the version this node knows (issue 25).
    let fresh = crate::replica::memory_may_answer(&state, &headers);
    let from_memory = match (state.memory(), state.data_version()) {
        (Some(memory), Some(version)) if fresh => {
            let page = memory.page(c, &iq, version);
            if page.is_none() {
                memory.want(c, version, state.db());
            }
            page
        }
        _ => None,
    };
    let (matched, returned, features, more, last) = match from_memory {
        Some(p) => (p.matched, p.returned, p.features, p.more, p.last),
        None => {
            let (sql, params) = query::items(c, &iq, figures.as_ref());
            let conn = state.db().conn().await?;
            let stmt = conn.prepare_cached(&sql).await.map_err(DbError::pg("preparing the items query"))?;
            let row = conn.query_one(&stmt, &query::refs(&params)).await.map_err(|e| refused(&iq, e))?;
            drop(conn);
            let what = "reading features";
            let matched: i64 = row.try_get("matched").map_err(DbError::pg(what))?;
            let returned: i64 = row.try_get("returned").map_err(DbError::pg(what))?;
            let features: String = row.try_get("features").map_err(DbError::pg(what))?;
            let more: bool = row.try_get("more").map_err(DbError::pg(what))?;
            let last: Option<String> = row.try_get("last").map_err(DbError::pg(what))?;
            (matched, returned, features, more, last)
        }
    };
    let next = if more { last } else { None };
    let head = page_head(c, &iq, &q, origin.base(), ty, matched, returned, next.as_deref(), figures.as_ref());
    // `head` is a JSON object; open it up and append the features.
    let mut body = String::with_capacity(head.len() + features.len() + 16);
    body.push_str(&head[..head.len() - 1]);
    body.push_str(",\"features\":[");
    body.push_str(&features);
    body.push_str("]}");
    Ok(features_response(body, ty, iq.crs))
}

/// The error of a failed items query: a value of the filter PostGIS
/// refused (an unclosed ring, a malformed GeoJSON geometry: SQLSTATE
/// XX000 or a data exception) is the request's fault, a 400; anything
/// else the server's.
fn refused(iq: &ItemsQuery, e: tokio_postgres::Error) -> ApiError {
    let code = e.code().map(|c| c.code().to_owned()).unwrap_or_default();
    if iq.condition.is_some() && (code == "XX000" || code.starts_with("22")) {
        let detail = e.as_db_error().map_or_else(|| e.to_string(), |d| d.message().to_owned());
        return ApiError::BadRequest(format!("parameter 'filter': PostGIS refused a value of the filter: {detail}"));
    }
    DbError::pg("reading features")(e).into()
}

/// Where a page starts: after `offset` features, or after the feature a
/// cursor names.
#[derive(Clone, Copy)]
enum Start<'a> {
    Offset(i64),
    Cursor(&'a str),
}

/// The FeatureCollection's members but the features, as a JSON object
/// text: counts, time stamp, and links to this page in both formats, the
/// collection and the pages before (offset paging only) and after (a
/// cursor after `next`, the last feature's sort keys and id; same
/// filters). With `figures` (figures at a date): their date (`as_of`) and
/// the coverage release in force then (`release`, null before the first),
/// as `?as_of=` names them.
#[allow(clippy::too_many_arguments)]
fn page_head(
    c: &Collection,
    iq: &ItemsQuery,
    q: &QueryPairs,
    base: &str,
    ty: &str,
    matched: i64,
    returned: i64,
    next: Option<&str>,
    figures: Option<&crate::hook::DatedAll>,
) -> String {
    let page = |start: Start<'_>, f: Option<&str>| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &q.0 {
            if k != "offset" && k != "limit" && k != "f" && k != "cursor" {
                s.append_pair(k, v);
            }
        }
        s.append_pair("limit", &iq.limit.to_string());
        match start {
            Start::Offset(offset) if offset > 0 => {
                s.append_pair("offset", &offset.to_string());
            }
            Start::Offset(_) => {}
            Start::Cursor(cursor) => {
                s.append_pair("cursor", cursor);
            }
        }
        if let Some(f) = f {
            s.append_pair("f", f);
        }
        format!("{base}/ogc/collections/{}/items?{}", c.id, s.finish())
    };
    let own_f = q.get("f");
    let other_f = if ty == GEOJSON { "json" } else { "geojson" };
    let other_ty = if ty == GEOJSON { JSON } else { GEOJSON };
    let this = q.get("cursor").map_or(Start::Offset(iq.offset), Start::Cursor);
    let mut links = vec![
        link(&page(this, own_f), "self", ty, "This page"),
        link(&page(this, Some(other_f)), "alternate", other_ty, "This page in another format"),
        link(&format!("{base}/ogc/collections/{}", c.id), "collection", JSON, "The collection"),
    ];
    if let Some(cursor) = next {
        links.push(link(&page(Start::Cursor(cursor), own_f), "next", ty, "Next page"));
    }
    if iq.offset > 0 && q.get("cursor").is_none() {
        links.push(link(&page(Start::Offset((iq.offset - iq.limit).max(0)), own_f), "prev", ty, "Previous page"));
    }
    let mut head = json!({
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": returned,
        "timeStamp": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "links": links,
    });
    if let Some(f) = figures {
        head["as_of"] = json!(f.date);
        head["release"] = json!(f.release);
    }
    head.to_string()
}

/// One feature by its natural id (AGS, site_id, measure_id, dead spot id).
#[utoipa::path(get, path = "/ogc/collections/{collectionId}/items/{featureId}", tag = "ogc",
    params(
        ("collectionId" = String, Path, description = "municipalities, sites, measures, dead-spots, districts or regions"),
        ("featureId" = String, Path, description = "Natural id: AGS, site_id, measure_id or dead spot id"),
        ("crs" = Option<String>, Query, description = "CRS of the output coordinates (CRS84 or EPSG:25832 URI)"),
        ("f" = Option<String>, Query, description = "geojson (default) or json"),
        ("geometry" = Option<String>, Query, description = "municipalities only: simplified (default) or full"),
    ),
    responses(
        (status = 200, description = "The feature", body = schema::Feature, content_type = "application/geo+json",
         headers(("Content-Crs" = String, description = "CRS of the coordinates, as <URI>"))),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 400, description = "Unknown or malformed parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown collection or feature", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn item(
    State(state): State<AppState>,
    origin: Origin,
    ApiPath((cid, fid)): ApiPath<(String, String)>,
    q: QueryPairs,
) -> ApiResult<Response> {
    let c = catalog::get(&cid)?;
    q.check(&["crs", "f", "geometry"], |_| false)?;
    let ty = media(&q, true)?;
    let crs = Crs::from_query(&q, "crs")?;
    let sql = query::item(c, full_geometry(&q)?);
    let base = origin.base();
    let self_url = format!("{base}/ogc/collections/{}/items/", c.id);
    let coll_url = format!("{base}/ogc/collections/{}", c.id);
    let conn = state.db().conn().await?;
    let stmt = conn.prepare_cached(&sql).await.map_err(DbError::pg("preparing the feature query"))?;
    let row = conn
        .query_opt(&stmt, &[&fid, &crs.srid(), &crs.digits(), &self_url, &coll_url, &ty])
        .await
        .map_err(DbError::pg("reading a feature"))?;
    drop(conn);
    let Some(row) = row else {
        return Err(ApiError::NotFound(format!("no feature {fid:?} in collection {}", c.id)));
    };
    let feature: String = row.try_get("feature").map_err(DbError::pg("reading a feature"))?;
    Ok(features_response(feature, ty, crs))
}

/// `numberMatched`, `numberReturned` and the features' text (the members
/// of the `features` array) of the items page `query` asks of
/// `collection`, computed by the plain formulation the API served before
/// issue 19 ([`query::items_plain`]), unprepared on `client`. The oracle of
/// the equality test that holds the served path to it; not a route.
///
/// # Errors
/// What the route answers for a bad collection or parameter, or the
/// database's error.
///
/// `datetime` on a coverage collection takes the figures at that date from
/// `engine` (which the server under test must share).
#[doc(hidden)]
pub async fn reference_items(
    client: &tokio_postgres::Client,
    collection: &str,
    query: Vec<(String, String)>,
    engine: Option<&dyn crate::CoverageHook>,
) -> ApiResult<(i64, i64, String)> {
    let c = catalog::get(collection)?;
    let cols = catalog::columns::columns(client, c).await?;
    let iq = ItemsQuery::parse(c, cols, &QueryPairs(query))?;
    let figures = match (iq.at, engine) {
        (None, _) => None,
        (Some(date), Some(engine)) => Some(engine.coverage_at(date).await.map_err(|e| ApiError::EngineUnavailable(e.to_string()))?),
        (Some(_), None) => return Err(ApiError::EngineUnavailable("the reference needs the engine for a dated request".into())),
    };
    let (sql, params) = query::items_plain(c, &iq, figures.as_ref());
    let row = client.query_one(&sql, &query::refs(&params)).await.map_err(DbError::pg("reading features (reference)"))?;
    let matched: i64 = row.try_get("matched").map_err(DbError::pg("reading features (reference)"))?;
    let returned: i64 = row.try_get("returned").map_err(DbError::pg("reading features (reference)"))?;
    let features: String = row.try_get("features").map_err(DbError::pg("reading features (reference)"))?;
    Ok((matched, returned, features))
}
