//! Municipality figures, search and dead spots (docs/http.md).

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use funkplan_db::Error as DbError;
use funkplan_model::Ags;

use crate::http::{ApiPath, QueryPairs};
use crate::openapi::schema;
use crate::{ApiError, ApiResult, AppState};

/// A JSON body that PostgreSQL already serialised.
pub(crate) fn json_bytes(text: String, content_type: &'static str) -> Response {
    let mut r = text.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

pub(crate) fn parse_ags(s: &str) -> ApiResult<Ags> {
    s.parse::<Ags>().map_err(|e| {
        ApiError::BadRequest(format!(
            "{e}; an AGS is the 8-digit official municipality key, e.g. 05111000"
        ))
    })
}

/// The figures of one municipality: households and area with 5G and LTE,
/// per operator where known, the what-if scenario, sites by status and
/// measures by kind and status.
#[utoipa::path(get, path = "/api/v1/municipalities/{ags}", tag = "coverage",
    params(
        ("ags" = String, Path, description = "8-digit official municipality key (AGS)", example = "05111000"),
        ("as_of" = Option<String>, Query, description = "The figures at this date (YYYY-MM-DD, from 2019-01-01 to today): the coverage release in force then combined with the sites on air by then; answered by the engine of `funkplan serve`"),
    ),
    responses(
        (status = 200, description = "Figures of the municipality", body = schema::MunicipalityFigures),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 400, description = "Malformed AGS or date", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown AGS", body = crate::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable, or a date asked of a server without the engine", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn figures(State(state): State<AppState>, ApiPath(ags): ApiPath<String>, headers: axum::http::HeaderMap, q: QueryPairs) -> ApiResult<Response> {
    q.check(&["as_of"], |_| false)?;
    let ags = parse_ags(&ags)?;
    if let Some(d) = q.get("as_of") {
        return super::dated::municipality(&state, &ags, d).await;
    }
    // From memory while it holds the current data (issue 19: a
    // municipality's page misses the response cache on its first visit),
    // else from SQL, asking for a load in the background.
    // (Not for a read presenting a consistency token past the data version
    // this node knows: issue 25, read your writes.)
    let fresh = crate::replica::memory_may_answer(&state, &headers);
    if let (Some(memo), Some(version), true) = (state.figures_memory(), state.data_version(), fresh) {
        if let Some(all) = memo.get(version) {
            return match all.value.get(ags.as_str()) {
                Some(text) => Ok(json_bytes(text.clone(), "application/json")),
                None => Err(ApiError::NotFound(format!(
                    "no municipality with AGS {ags}"
                ))),
            };
        }
        memo.want(
            version,
            "municipality figures",
            super::figures::load_all(state.db().clone()),
        );
    }
    let c = state.db().conn().await?;
    let stmt = c
        .prepare_cached(&super::figures::MUNICIPALITY)
        .await
        .map_err(DbError::pg("preparing the municipality figures"))?;
    let what = "reading the municipality figures";
    let row = c.query_opt(&stmt, &[&ags.as_str()]).await.map_err(DbError::pg(what))?;
    let Some(row) = row else {
        return Err(ApiError::NotFound(format!("no municipality with AGS {ags}")));
    };
    Ok(json_bytes(row.try_get("figures").map_err(DbError::pg(what))?, "application/json"))
}

/// The municipalities bordering this one, longest shared border first:
/// for the municipality page's table of its neighbours (their figures come
/// from the municipalities collection the page has already).
#[utoipa::path(get, path = "/api/v1/municipalities/{ags}/neighbours", tag = "coverage",
    params(("ags" = String, Path, description = "8-digit official municipality key (AGS)", example = "05111000")),
    responses(
        (status = 200, description = "`{ags, neighbours: [{ags, name, border_km}]}`", body = Object),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 400, description = "Malformed AGS", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown AGS", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn neighbours(State(state): State<AppState>, ApiPath(ags): ApiPath<String>, q: QueryPairs) -> ApiResult<Response> {
    q.check(&[], |_| false)?;
    let ags = parse_ags(&ags)?;
    let c = state.db().conn().await?;
    let what = "reading the neighbouring municipalities";
    let exists = c.prepare_cached("SELECT 1 FROM municipality WHERE ags = $1").await.map_err(DbError::pg(what))?;
    if c.query_opt(&exists, &[&ags.as_str()]).await.map_err(DbError::pg(what))?.is_none() {
        return Err(ApiError::NotFound(format!("no municipality with AGS {ags}")));
    }
    let stmt = c.prepare_cached(include_str!("../../sql/municipality_neighbours.sql")).await.map_err(DbError::pg(what))?;
    let rows = c.query(&stmt, &[&ags.as_str()]).await.map_err(DbError::pg(what))?;
    let list = rows
        .iter()
        .map(|r| {
            Ok(serde_json::json!({
                "ags": r.try_get::<_, String>("ags")?,
                "name": r.try_get::<_, String>("name")?,
                "border_km": r.try_get::<_, f64>("border_km")?,
            }))
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()
        .map_err(DbError::pg(what))?;
    Ok(axum::Json(serde_json::json!({"ags": ags.as_str(), "neighbours": list})).into_response())
}

/// The LTE dead spots of a municipality: merged dead cells as a GeoJSON
/// FeatureCollection in WGS84.
#[utoipa::path(get, path = "/api/v1/municipalities/{ags}/dead-spots", tag = "coverage",
    params(("ags" = String, Path, description = "8-digit official municipality key (AGS)", example = "05111000")),
    responses(
        (status = 200, description = "Dead spots", body = schema::FeatureCollection, content_type = "application/geo+json"),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 400, description = "Malformed AGS", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown AGS", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn dead_spots(State(state): State<AppState>, ApiPath(ags): ApiPath<String>) -> ApiResult<Response> {
    let ags = parse_ags(&ags)?;
    let c = state.db().conn().await?;
    let stmt = c
        .prepare_cached(include_str!("../../sql/dead_spots.sql"))
        .await
        .map_err(DbError::pg("preparing the dead-spot query"))?;
    let row = c.query_one(&stmt, &[&ags.as_str()]).await.map_err(DbError::pg("reading dead spots"))?;
    // NULL: no such municipality (one without dead spots has an empty list).
    match row.try_get::<_, Option<String>>("features").map_err(DbError::pg("reading dead spots"))? {
        Some(t) => Ok(json_bytes(t, "application/geo+json")),
        None => Err(ApiError::NotFound(format!("no municipality with AGS {ags}"))),
    }
}

/// Find municipalities by name (prefix or substring, case-insensitive) or
/// by AGS prefix; without `q`, all of them.
#[utoipa::path(get, path = "/api/v1/municipalities", tag = "coverage",
    params(
        ("q" = Option<String>, Query, description = "Part of the name, or the first digits of the AGS", example = "düss"),
        ("limit" = Option<i64>, Query, description = "At most this many results (1..1000, default 20; 1000 without q)"),
    ),
    responses(
        (status = 200, description = "Matching municipalities, best first", body = [schema::MunicipalityRef]),
        (status = 400, description = "Unknown or malformed parameter", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn search(State(state): State<AppState>, q: QueryPairs) -> ApiResult<Response> {
    q.check(&["q", "limit"], |_| false)?;
    let text = q.get("q").unwrap_or("").trim().to_lowercase();
    let default = if text.is_empty() { 1000 } else { 20 };
    let limit = q.int("limit", default, 1, 1000, true)?;
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    let c = state.db().conn().await?;
    let stmt = c
        .prepare_cached(include_str!("../../sql/municipality_search.sql"))
        .await
        .map_err(DbError::pg("preparing the municipality search"))?;
    let what = "searching municipalities";
    let row = c.query_one(&stmt, &[&escaped, &limit]).await.map_err(DbError::pg(what))?;
    Ok(json_bytes(row.try_get("municipalities").map_err(DbError::pg(what))?, "application/json"))
}
