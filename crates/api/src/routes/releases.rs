//! Coverage releases and what changed between them (issue 16): the
//! regulator publishes its coverage as dated releases, and a municipality
//! asks what changed in it since the last one.

use axum::extract::State;
use axum::response::Response;
use chrono::NaiveDate;
use funkplan_db::Error as DbError;
use funkplan_model::Ags;

use super::municipalities::json_bytes;
use crate::http::{ApiPath, QueryPairs};
use crate::openapi::schema;
use crate::{ApiError, ApiResult, AppState};

/// The coverage releases, oldest first.
#[utoipa::path(get, path = "/api/v1/releases", tag = "coverage",
    responses(
        (status = 200, description = "The releases, oldest first", body = [schema::Release]),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 503, description = "Database unavailable", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn list(State(state): State<AppState>, q: QueryPairs) -> ApiResult<Response> {
    q.check(&[], |_| false)?;
    let c = state.db().conn().await?;
    let stmt = c.prepare_cached(include_str!("../../sql/releases.sql")).await.map_err(DbError::pg("preparing the release list"))?;
    let what = "reading the releases";
    let row = c.query_one(&stmt, &[]).await.map_err(DbError::pg(what))?;
    Ok(json_bytes(row.try_get("releases").map_err(DbError::pg(what))?, "application/json"))
}

/// A `YYYY-MM-DD` query parameter.
fn date_param(q: &QueryPairs, key: &str) -> ApiResult<Option<NaiveDate>> {
    q.get(key).map(|s| super::dated::parse_date(key, s)).transpose()
}

/// What changed in a municipality's reported coverage between the release
/// in force at `from` and the one in force at `to`: households, cells and
/// area gained and lost per technology, the dead-spot area before and
/// after, and the changed areas as GeoJSON. Without dates: the latest
/// release against the one before it. `f=geojson` answers the changed areas
/// alone, as a FeatureCollection for a map.
#[utoipa::path(get, path = "/api/v1/municipalities/{ags}/changes", tag = "coverage",
    params(
        ("ags" = String, Path, description = "8-digit official municipality key (AGS)", example = "05111000"),
        ("from" = Option<String>, Query, description = "Compare from the release in force at this date (YYYY-MM-DD); default: the release before the latest"),
        ("to" = Option<String>, Query, description = "Compare to the release in force at this date (YYYY-MM-DD); default: the latest release"),
        ("f" = Option<String>, Query, description = "`json` (default: figures and changed areas) or `geojson` (the changed areas alone)"),
    ),
    responses(
        (status = 200, description = "What changed", body = schema::MunicipalityChanges),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 400, description = "Malformed AGS, date or parameter; `from` after `to`", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown AGS, or no coverage release at all", body = crate::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn changes(State(state): State<AppState>, ApiPath(ags): ApiPath<String>, q: QueryPairs) -> ApiResult<Response> {
    q.check(&["from", "to", "f"], |_| false)?;
    let ags = ags
        .parse::<Ags>()
        .map_err(|e| ApiError::BadRequest(format!("{e}; an AGS is the 8-digit official municipality key, e.g. 05111000")))?;
    let geojson = match q.get("f").unwrap_or("json") {
        "json" => false,
        "geojson" => true,
        other => return Err(ApiError::BadRequest(format!("f: `{other}` is not one of json, geojson"))),
    };
    let (from, to) = (date_param(&q, "from")?, date_param(&q, "to")?);
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(ApiError::BadRequest(format!("from ({f}) lies after to ({t})")));
        }
    }
    let c = state.db().conn().await?;
    let what = "finding the releases to compare";
    let stmt = c.prepare_cached(include_str!("../../sql/release_dates.sql")).await.map_err(DbError::pg(what))?;
    let r = c.query_one(&stmt, &[&from, &to]).await.map_err(DbError::pg(what))?;
    let get = |col: &str| r.try_get::<_, Option<NaiveDate>>(col).map_err(DbError::pg(what));
    if get("latest")?.is_none() {
        return Err(ApiError::NotFound("no coverage release has been ingested yet (funkplan ingest coverage FILE --as-of DATE)".into()));
    }
    let (r_from, r_to) = (get("r_from")?, get("r_to")?);
    let what = "comparing the releases";
    let stmt = c.prepare_cached(include_str!("../../sql/municipality_changes.sql")).await.map_err(DbError::pg(what))?;
    let row = c.query_one(&stmt, &[&ags.as_str(), &r_from, &r_to]).await.map_err(DbError::pg(what))?;
    let Some(text) = row.try_get::<_, Option<String>>("changes").map_err(DbError::pg(what))? else {
        return Err(ApiError::NotFound(format!("no municipality with AGS {ags}")));
    };
    if geojson {
        let mut v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| ApiError::Internal(format!("{what}: the database's JSON: {e}")))?;
        let fc = v.get_mut("changed_areas").map(serde_json::Value::take).unwrap_or_default();
        return Ok(json_bytes(fc.to_string(), "application/geo+json"));
    }
    Ok(json_bytes(text, "application/json"))
}
