//! Sites and measures over HTTP: read with ETag, create, update with
//! If-Match. Each handler parses, calls the [store](crate::store) (which
//! applies the rules in one audited transaction), lets the state
//! [reflect](crate::AppState::reflect) the change and answers.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::auth::Caller;
use crate::http::{ApiJson, ApiPath};
use crate::openapi::schema;
use crate::store::{self, IfMatch, Versioned, Written};
use crate::{ApiError, ApiResult, AppState};

pub use crate::store::measure::{MeasurePatch, NewMeasure};
pub use crate::store::site::{NewSite, SitePatch};

fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

fn resource(status: StatusCode, version: i64, body: String, location: Option<String>) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::ETAG, etag(version));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    if let Some(l) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        h.insert(header::LOCATION, l);
    }
    r
}

/// The answer to a read: the object with its ETag, or 404.
fn found(v: Option<Versioned>, what: &str, id: &str) -> ApiResult<Response> {
    match v {
        Some(v) => Ok(resource(StatusCode::OK, v.version, v.json, None)),
        None => Err(ApiError::NotFound(format!("no {what} with id {id:?}"))),
    }
}

/// The common end of every write after its COMMIT: the store has given its
/// connection back (writers queued on the engine would otherwise hold the
/// whole pool while the hook waits for one of its own: B10, found by
/// scripts/load), the state reflects the change (none for a no-op PATCH),
/// and the object is answered with its new ETag.
async fn answer(state: &AppState, w: Written, status: StatusCode, location: Option<String>) -> Response {
    if let Some(change) = w.change {
        state.reflect(change).await;
    }
    resource(status, w.version, w.body.to_string(), location)
}

/// One site with its ETag (the row's version).
#[utoipa::path(get, path = "/api/v1/sites/{id}", tag = "sites",
    params(("id" = String, Path, description = "site_id")),
    responses(
        (status = 200, description = "The site", body = schema::Site, headers(("ETag" = String, description = "Version of the site"))),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 404, description = "Unknown site", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn get_site(State(state): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<Response> {
    found(store::site::get(state.db(), &id).await?, "site", &id)
}

/// One measure with its ETag (the row's version).
#[utoipa::path(get, path = "/api/v1/measures/{id}", tag = "measures",
    params(("id" = String, Path, description = "measure_id")),
    responses(
        (status = 200, description = "The measure", body = schema::Measure, headers(("ETag" = String, description = "Version of the measure"))),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 404, description = "Unknown measure", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn get_measure(State(state): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<Response> {
    found(store::measure::get(state.db(), &id).await?, "measure", &id)
}

/// Record a new site. Needs a token; a municipality may only add sites
/// within its own AGS.
#[utoipa::path(post, path = "/api/v1/sites", tag = "sites", request_body = NewSite,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = schema::Site, headers(("ETag" = String), ("Location" = String))),
        (status = 400, description = "Malformed JSON", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No, unknown or revoked token", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not write here", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A site with this id exists already (said in words, without database text)", body = crate::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body larger than 1 MiB", body = crate::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field, named in the detail: an id, a date outside its window (see the README), an on_air_date on a site not on air yet, or a position beyond the border margin of the loaded municipalities", body = crate::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed authentications", body = crate::Problem, content_type = "application/problem+json"),
        (status = 507, description = "The database has no disk space left; nothing was stored", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn create_site(State(state): State<AppState>, caller: Caller, ApiJson(s): ApiJson<NewSite>) -> ApiResult<Response> {
    let location = format!("/api/v1/sites/{}", s.site_id);
    let w = store::site::create(state.db(), &caller, s, state.site_margin_m).await?;
    Ok(answer(&state, w, StatusCode::CREATED, Some(location)).await)
}

/// Change a site. Needs `If-Match` with its ETag; status moves forward
/// only (`planned → permitting → construction → on_air`, or
/// `decommissioned`).
#[utoipa::path(patch, path = "/api/v1/sites/{id}", tag = "sites", request_body = SitePatch,
    params(("id" = String, Path, description = "site_id"), ("If-Match" = String, Header, description = "ETag from GET")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = schema::Site, headers(("ETag" = String))),
        (status = 400, description = "Malformed JSON", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No, unknown or revoked token", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not write here", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown site", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Status transition not allowed; the detail lists the allowed next states", body = crate::Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is stale, or weak (W/\"n\"): If-Match compares strongly", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field, named in the detail: an id, a date outside its window (see the README), an on_air_date on a site not on air yet, or a position beyond the border margin of the loaded municipalities", body = crate::Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing or `*`: a concrete ETag is needed", body = crate::Problem, content_type = "application/problem+json"),
        (status = 507, description = "The database has no disk space left; nothing was stored", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn patch_site(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(p): ApiJson<SitePatch>,
) -> ApiResult<Response> {
    let if_match = IfMatch(headers.get(header::IF_MATCH));
    let w = store::site::update(state.db(), &caller, &id, if_match, p, state.site_margin_m).await?;
    Ok(answer(&state, w, StatusCode::OK, None).await)
}

/// Record a new measure on an existing site. A completed `5g_upgrade`
/// puts 5G on air at its site, an `lte_*` measure LTE.
#[utoipa::path(post, path = "/api/v1/measures", tag = "measures", request_body = NewMeasure,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = schema::Measure, headers(("ETag" = String), ("Location" = String))),
        (status = 400, description = "Malformed JSON", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No, unknown or revoked token", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not write here", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A measure with this id exists already (said in words, without database text)", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field, named in the detail (an id, a date outside its window: see the README), or unknown site", body = crate::Problem, content_type = "application/problem+json"),
        (status = 507, description = "The database has no disk space left; nothing was stored", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn create_measure(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(m): ApiJson<NewMeasure>,
) -> ApiResult<Response> {
    let location = format!("/api/v1/measures/{}", m.measure_id);
    let w = store::measure::create(state.db(), &caller, m).await?;
    Ok(answer(&state, w, StatusCode::CREATED, Some(location)).await)
}

/// Change a measure. Needs `If-Match`; status moves `planned →
/// in_progress → completed`, and `completed` is final.
#[utoipa::path(patch, path = "/api/v1/measures/{id}", tag = "measures", request_body = MeasurePatch,
    params(("id" = String, Path, description = "measure_id"), ("If-Match" = String, Header, description = "ETag from GET")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = schema::Measure, headers(("ETag" = String))),
        (status = 401, description = "No, unknown or revoked token", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not write here", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown measure", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Status transition not allowed", body = crate::Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is stale, or weak (W/\"n\"): If-Match compares strongly", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field, named in the detail (an id, a date outside its window: see the README), or unknown site", body = crate::Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing or `*`: a concrete ETag is needed", body = crate::Problem, content_type = "application/problem+json"),
        (status = 507, description = "The database has no disk space left; nothing was stored", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn patch_measure(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(p): ApiJson<MeasurePatch>,
) -> ApiResult<Response> {
    let if_match = IfMatch(headers.get(header::IF_MATCH));
    let w = store::measure::update(state.db(), &caller, &id, if_match, p).await?;
    Ok(answer(&state, w, StatusCode::OK, None).await)
}
