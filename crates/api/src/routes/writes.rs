//! Sites and measures: read with ETag, create, update with If-Match, each
//! write audited in its own transaction, then the coverage hook.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use funkplan_db::Error as DbError;
use funkplan_model::{
    check_on_air_date, plausible_date, valid_id, Ags, DateField, MeasureKind, MeasureStatus, OperatorId, Role, SiteStatus,
    Technology, ID_RULE,
};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use tokio_postgres::error::SqlState;
use tokio_postgres::Statement;

use crate::auth::Caller;
use crate::http::{ApiJson, ApiPath};
use crate::openapi::schema;
use crate::{ApiError, ApiResult, AppState};

/// `Some(None)` for an explicit `null`, `None` for an absent field: PATCH
/// must tell "clear the date" from "leave it".
fn explicit<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A new site (the field names of the sites input file).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSite {
    #[schema(example = "S-1")]
    pub site_id: String,
    /// Operator id, lower case: telekom, vodafone, telefonica, 1und1.
    #[schema(value_type = String, example = "telekom")]
    pub operator: OperatorId,
    /// WGS84 longitude.
    #[schema(example = 7.0)]
    pub lon: f64,
    /// WGS84 latitude.
    #[schema(example = 51.0)]
    pub lat: f64,
    #[schema(value_type = String, example = "planned")]
    pub status: SiteStatus,
    #[serde(default)]
    #[schema(value_type = Vec<String>, example = json!(["lte"]))]
    pub technologies: Vec<Technology>,
    #[serde(default)]
    pub planned_date: Option<NaiveDate>,
    #[serde(default)]
    pub on_air_date: Option<NaiveDate>,
}

/// Changes to a site: absent fields stay as they are, `null` clears a date.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SitePatch {
    /// If given, must equal the id in the path.
    pub site_id: Option<String>,
    #[schema(value_type = Option<String>)]
    pub operator: Option<OperatorId>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    #[schema(value_type = Option<String>)]
    pub status: Option<SiteStatus>,
    #[schema(value_type = Option<Vec<String>>)]
    pub technologies: Option<Vec<Technology>>,
    #[serde(default, deserialize_with = "explicit")]
    #[schema(value_type = Option<NaiveDate>)]
    pub planned_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "explicit")]
    #[schema(value_type = Option<NaiveDate>)]
    pub on_air_date: Option<Option<NaiveDate>>,
}

/// A new measure (the field names of the measures input file).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMeasure {
    #[schema(example = "M-1")]
    pub measure_id: String,
    #[schema(example = "S-1")]
    pub site_id: String,
    #[schema(value_type = String, example = "5g_upgrade")]
    pub kind: MeasureKind,
    #[schema(value_type = String, example = "planned")]
    pub status: MeasureStatus,
    #[serde(default)]
    pub planned_date: Option<NaiveDate>,
    /// Required with status `completed`; today when left out then.
    #[serde(default)]
    pub completed_date: Option<NaiveDate>,
}

/// Changes to a measure: absent fields stay, `null` clears a date.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeasurePatch {
    /// If given, must equal the id in the path.
    pub measure_id: Option<String>,
    pub site_id: Option<String>,
    #[schema(value_type = Option<String>)]
    pub kind: Option<MeasureKind>,
    #[schema(value_type = Option<String>)]
    pub status: Option<MeasureStatus>,
    #[serde(default, deserialize_with = "explicit")]
    #[schema(value_type = Option<NaiveDate>)]
    pub planned_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "explicit")]
    #[schema(value_type = Option<NaiveDate>)]
    pub completed_date: Option<Option<NaiveDate>>,
}

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

/// 428 without If-Match, 412 when it names another version.
///
/// The comparison is strong (RFC 9110 §13.1.1): `http::etag_matches` is the
/// weak one If-None-Match needs. Two forms are refused although RFC 9110
/// would let them pass, because each skips the lost-update protection the
/// header is required for (issue 20, finding 5):
/// - `*` ("any version") — 428, like a missing header: the request lacks
///   the precondition this API requires (RFC 6585 §3), and no version could
///   ever satisfy it, so 412 ("your version is stale") would mislead;
/// - a weak `W/"n"` — 412: weak validators cannot be used for If-Match.
fn check_if_match(headers: &HeaderMap, version: i64, what: &str) -> ApiResult<()> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Err(ApiError::PreconditionRequired(format!(
            "updating a {what} needs an If-Match header with the ETag from GET (so that no update is lost)"
        )));
    };
    let v = v.to_str().map_err(|_| ApiError::BadRequest("If-Match is not readable text".into()))?;
    let tags: Vec<&str> = v.split(',').map(str::trim).filter(|t| !t.is_empty()).collect();
    if tags.contains(&"*") {
        return Err(ApiError::PreconditionRequired(format!(
            "If-Match: * would update any version of the {what}; send the concrete ETag from GET (e.g. If-Match: \"{version}\") so that no update is lost"
        )));
    }
    if tags.iter().any(|t| t.starts_with("W/")) {
        return Err(ApiError::PreconditionFailed(format!(
            "If-Match {v} is a weak validator, and weak validators cannot be used for If-Match (RFC 9110 §13.1.1); send the strong ETag from GET, e.g. \"{version}\""
        )));
    }
    if tags.contains(&format!("\"{version}\"").as_str()) {
        Ok(())
    } else {
        Err(ApiError::PreconditionFailed(format!(
            "the {what} was changed meanwhile (now version \"{version}\", If-Match said {v}); GET it again and re-apply your change"
        )))
    }
}

fn check_role(caller: &Caller, ags: Option<&str>, what: &str) -> ApiResult<()> {
    let ags: Option<Ags> = ags.and_then(|a| a.parse().ok());
    if caller.role.may_write_for(ags.as_ref()) {
        return Ok(());
    }
    let Role::Municipality(own) = caller.role else {
        return Err(ApiError::Forbidden(format!("role {} may not write this {what}", caller.role)));
    };
    Err(ApiError::Forbidden(format!(
        "role {} may only write {what}s located in municipality {own}; this one lies in {}",
        caller.role,
        ags.map_or_else(|| "no known municipality".to_owned(), |a| a.to_string())
    )))
}

fn check_point(lon: f64, lat: f64) -> ApiResult<()> {
    if !(lon.is_finite() && lat.is_finite() && (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)) {
        return Err(ApiError::Unprocessable(format!(
            "lon/lat ({lon}, {lat}) is not a WGS84 position (lon -180..180, lat -90..90)"
        )));
    }
    // Sites are stored in EPSG:25832 (UTM 32N); far from its zone the
    // projection distorts beyond use, and no German site lies there.
    if !((-6.0..=24.0).contains(&lon) && (40.0..=65.0).contains(&lat)) {
        return Err(ApiError::Unprocessable(format!(
            "lon/lat ({lon}, {lat}) lies outside the area this system covers (lon -6..24, lat 40..65)"
        )));
    }
    Ok(())
}

fn check_id(id: &str, what: &str) -> ApiResult<()> {
    if valid_id(id) {
        Ok(())
    } else {
        Err(ApiError::Unprocessable(format!("{what} {id:?} must be {ID_RULE}")))
    }
}

/// Today, for the date windows (UTC, like the default completion date).
fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

/// 422 naming the field unless each given date lies in its field's
/// window (funkplan_model::plausible_date, the rule the ingest uses too).
fn check_dates(dates: &[(DateField, Option<NaiveDate>)]) -> ApiResult<()> {
    let today = today();
    for (field, d) in dates {
        if let Some(d) = d {
            plausible_date(*field, *d, today).map_err(|e| ApiError::Unprocessable(e.to_string()))?;
        }
    }
    Ok(())
}

/// A PATCH date: only a date being set is checked (`null` clears, absent
/// keeps what is stored).
fn patched(d: Option<Option<NaiveDate>>) -> Option<NaiveDate> {
    d.flatten()
}

/// 422 unless the site at lon/lat lies within the configured margin of the
/// loaded municipalities. With none loaded there is nothing to measure
/// against: the coarse box of [`check_point`] alone applies then, so sites
/// can be recorded before the municipalities are (as the ingest does); they
/// get no AGS until then.
async fn check_in_area(tx: &tokio_postgres::Transaction<'_>, stmt: &Statement, lon: f64, lat: f64, margin_m: f64) -> ApiResult<()> {
    let row = tx.query_opt(stmt, &[&lon, &lat]).await.map_err(ApiError::pg("locating the site"))?;
    let Some(distance) = row.map(|r| r.get::<_, f64>(0)) else {
        return Ok(());
    };
    if distance <= margin_m {
        return Ok(());
    }
    Err(ApiError::Unprocessable(format!(
        "lon/lat ({lon}, {lat}) lies {:.1} km from the nearest municipality of this system; sites must lie within {:.1} km of them (the configured border margin)",
        distance / 1000.0,
        margin_m / 1000.0
    )))
}

/// The error of inserting a `what` with `id`: a duplicate names the id in
/// the product's words (the only unique key of sites and measures is the
/// id); anything else as [`ApiError::pg`].
fn insert_error<'a>(what: &'static str, doing: &'static str, id: &'a str) -> impl FnOnce(tokio_postgres::Error) -> ApiError + 'a {
    move |e| {
        if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
            ApiError::Conflict(format!("a {what} with id {id:?} exists already"))
        } else {
            ApiError::pg(doing)(e)
        }
    }
}

fn techs(t: &[Technology]) -> Vec<String> {
    let mut v: Vec<String> = t.iter().map(|t| t.as_str().to_owned()).collect();
    v.sort();
    v.dedup();
    v
}

/// The statements of a write, prepared all at once and once per pooled
/// connection (deadpool's statement cache): each then costs one round trip
/// in the transaction, not a Parse and an Execute. The write is waited for
/// by its client (its figures are computed before the answer), so round
/// trips count.
async fn prepared<const N: usize>(c: &funkplan_db::Conn, sqls: [&'static str; N]) -> ApiResult<[Statement; N]> {
    let stmts = futures_util::future::try_join_all(sqls.iter().map(|s| c.prepare_cached(s)))
        .await
        .map_err(DbError::pg("preparing a write"))?;
    stmts.try_into().map_err(|_| ApiError::Internal("prepared statements went missing".into()))
}

const AUDIT: &str = include_str!("../../sql/audit_insert.sql");
const SITE_AGS: &str = include_str!("../../sql/site_ags.sql");
const SITE_DISTANCE: &str = include_str!("../../sql/site_distance.sql");

#[allow(clippy::too_many_arguments)]
async fn audit(
    tx: &tokio_postgres::Transaction<'_>,
    stmt: &Statement,
    caller: &Caller,
    action: &str,
    entity: &str,
    id: &str,
    before: Option<&Value>,
    after: &Value,
) -> ApiResult<()> {
    tx.execute(stmt, &[&caller.actor(), &action, &entity, &id, &before, &after])
        .await
        .map_err(ApiError::pg("writing the audit log"))?;
    Ok(())
}

async fn get_one(state: &AppState, sql: &str, id: &str, what: &str) -> ApiResult<Response> {
    let c = state.db().conn().await?;
    let stmt = c.prepare_cached(sql).await.map_err(DbError::pg("preparing a read"))?;
    let row = c.query_opt(&stmt, &[&id]).await.map_err(DbError::pg("reading a resource"))?;
    match row {
        Some(r) => Ok(resource(StatusCode::OK, r.get(0), r.get(1), None)),
        None => Err(ApiError::NotFound(format!("no {what} with id {id:?}"))),
    }
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
    get_one(&state, include_str!("../../sql/site_get.sql"), &id, "site").await
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
    get_one(&state, include_str!("../../sql/measure_get.sql"), &id, "measure").await
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
    check_id(&s.site_id, "site_id")?;
    check_point(s.lon, s.lat)?;
    check_dates(&[(DateField::Planned, s.planned_date), (DateField::OnAir, s.on_air_date)])?;
    check_on_air_date(s.status, s.on_air_date).map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    let mut c = state.db().conn().await?;
    let [distance, insert, audit_stmt] =
        prepared(&c, [SITE_DISTANCE, include_str!("../../sql/site_insert.sql"), AUDIT]).await?;
    let tx = c.transaction().await.map_err(DbError::pg("starting a transaction"))?;
    check_in_area(&tx, &distance, s.lon, s.lat, state.site_margin_m).await?;
    let row = tx
        .query_one(
            &insert,
            &[&s.site_id, &s.operator.as_str(), &s.lon, &s.lat, &s.status.as_str(), &techs(&s.technologies), &s.planned_date, &s.on_air_date],
        )
        .await
        .map_err(insert_error("site", "creating the site", &s.site_id))?;
    let (version, ags, after): (i64, Option<String>, Value) = (row.get(0), row.get(1), row.get(2));
    check_role(&caller, ags.as_deref(), "site")?;
    audit(&tx, &audit_stmt, &caller, "create", "site", &s.site_id, None, &after).await?;
    tx.commit().await.map_err(ApiError::pg("committing the site"))?;
    // Give the connection back before the coverage hook: writers queued on
    // the engine would otherwise hold the whole pool while the hook waits
    // for a connection of its own (B10, found by scripts/load).
    drop(c);
    reflect(&state, Some(Touched::Sites(vec![s.site_id.clone()]))).await;
    let location = format!("/api/v1/sites/{}", s.site_id);
    Ok(resource(StatusCode::CREATED, version, after.to_string(), Some(location)))
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
    if p.site_id.as_deref().is_some_and(|b| b != id) {
        return Err(ApiError::Unprocessable(format!("site_id in the body differs from the path ({id:?}); ids cannot change")));
    }
    let point = match (p.lon, p.lat) {
        (Some(lon), Some(lat)) => {
            check_point(lon, lat)?;
            Some((lon, lat))
        }
        (None, None) => None,
        _ => return Err(ApiError::Unprocessable("lon and lat must be given together".into())),
    };
    check_dates(&[(DateField::Planned, patched(p.planned_date)), (DateField::OnAir, patched(p.on_air_date))])?;
    let mut c = state.db().conn().await?;
    let [lock, distance, update, audit_stmt] = prepared(
        &c,
        [include_str!("../../sql/site_lock.sql"), SITE_DISTANCE, include_str!("../../sql/site_update.sql"), AUDIT],
    )
    .await?;
    let tx = c.transaction().await.map_err(DbError::pg("starting a transaction"))?;
    let Some(old) = tx
        .query_opt(&lock, &[&id])
        .await
        .map_err(ApiError::pg("reading the site"))?
    else {
        return Err(ApiError::NotFound(format!("no site with id {id:?}")));
    };
    let version: i64 = old.get(0);
    check_if_match(&headers, version, "site")?;
    let old_ags: Option<String> = old.get(6);
    check_role(&caller, old_ags.as_deref(), "site")?;
    let old_status: SiteStatus = old
        .get::<_, String>(1)
        .parse()
        .map_err(|e| ApiError::Internal(format!("stored site status: {e}")))?;
    let status = p.status.unwrap_or(old_status);
    if !old_status.can_become(status) {
        let next: Vec<&str> = old_status.next().iter().map(|s| s.as_str()).collect();
        return Err(ApiError::Conflict(format!(
            "site {id} cannot go from {old_status} to {status}; allowed next: {}",
            if next.is_empty() { "none (final state)".to_owned() } else { next.join(", ") }
        )));
    }
    let operator = p.operator.as_ref().map_or_else(|| old.get::<_, String>(2), |o| o.as_str().to_owned());
    let technologies = p.technologies.as_deref().map_or_else(|| old.get::<_, Vec<String>>(3), techs);
    let planned: Option<NaiveDate> = p.planned_date.unwrap_or_else(|| old.get(4));
    let on_air: Option<NaiveDate> = p.on_air_date.unwrap_or_else(|| old.get(5));
    check_on_air_date(status, on_air).map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    if let Some((lon, lat)) = point {
        check_in_area(&tx, &distance, lon, lat, state.site_margin_m).await?;
    }
    let before: Value = old.get(7);
    let row = tx
        .query_one(
            &update,
            &[&id, &operator, &point.map(|p| p.0), &point.map(|p| p.1), &status.as_str(), &technologies, &planned, &on_air],
        )
        .await
        .map_err(ApiError::pg("updating the site"))?;
    let (new_version, new_ags, after): (i64, Option<String>, Value) = (row.get(0), row.get(1), row.get(2));
    if new_ags != old_ags {
        check_role(&caller, new_ags.as_deref(), "site")?;
    }
    let changed = new_version != version;
    if changed {
        audit(&tx, &audit_stmt, &caller, "update", "site", &id, Some(&before), &after).await?;
    }
    tx.commit().await.map_err(ApiError::pg("committing the site"))?;
    // Give the connection back before the coverage hook: writers queued on
    // the engine would otherwise hold the whole pool while the hook waits
    // for a connection of its own (B10, found by scripts/load).
    drop(c);
    reflect(&state, changed.then(|| Touched::Sites(vec![id.clone()]))).await;
    Ok(resource(StatusCode::OK, new_version, after.to_string(), None))
}

/// What a committed write changed, for the coverage hook.
enum Touched {
    /// A site write: these sites.
    Sites(Vec<String>),
    /// A measure write: the measures' sites (the counts of completed
    /// measures may have moved too: the hook's `measures_changed`).
    Measures(Vec<String>),
}

/// The common end of every write after its COMMIT (and after the
/// connection went back to the pool): forget cached answers, let the
/// coverage hook reflect the change (its failure is logged, never
/// returned: the write stands), forget again (the hook rewrote figures).
/// `None`: nothing changed (a no-op PATCH).
///
/// The write's own COMMIT stays synchronous: deferring its WAL flush to the
/// hook's commit saved ~2 ms a write but let other sessions read a write
/// not yet on disk and made durability an argument instead of a default.
async fn reflect(state: &AppState, touched: Option<Touched>) {
    match touched {
        None => {}
        Some(Touched::Sites(ids)) => {
            state.invalidate();
            state.notify_sites_changed(ids).await;
        }
        Some(Touched::Measures(ids)) => {
            state.invalidate();
            if let Some(h) = &state.hook {
                let sites = ids.clone();
                if let Err(e) = h.measures_changed(ids).await {
                    tracing::error!(error = %e, ?sites, "coverage update after a measure write failed; figures may lag until the next recompute");
                }
            }
            state.invalidate();
        }
    }
}

/// The municipality of a site, locking it against a concurrent move; 422
/// when the site does not exist.
async fn site_ags(tx: &tokio_postgres::Transaction<'_>, stmt: &Statement, site_id: &str) -> ApiResult<Option<String>> {
    let row = tx
        .query_opt(stmt, &[&site_id])
        .await
        .map_err(ApiError::pg("reading the measure's site"))?;
    match row {
        Some(r) => Ok(r.get(0)),
        None => Err(ApiError::Unprocessable(format!("site {site_id:?} does not exist; create it first"))),
    }
}

/// Dates of a measure in the given status: `completed` needs a completion
/// date (today when none is given), any other status must have none.
fn completion(status: MeasureStatus, date: Option<NaiveDate>) -> ApiResult<Option<NaiveDate>> {
    match (status, date) {
        (MeasureStatus::Completed, None) => Ok(Some(chrono::Utc::now().date_naive())),
        (MeasureStatus::Completed, d) => Ok(d),
        (s, Some(d)) => Err(ApiError::Unprocessable(format!(
            "completed_date {d} given, but status is {s}; only completed measures have a completion date"
        ))),
        (_, None) => Ok(None),
    }
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
    check_id(&m.measure_id, "measure_id")?;
    check_id(&m.site_id, "site_id")?;
    check_dates(&[(DateField::Planned, m.planned_date), (DateField::Completed, m.completed_date)])?;
    let completed = completion(m.status, m.completed_date)?;
    let mut c = state.db().conn().await?;
    let [ags_stmt, insert, audit_stmt] = prepared(&c, [SITE_AGS, include_str!("../../sql/measure_insert.sql"), AUDIT]).await?;
    let tx = c.transaction().await.map_err(DbError::pg("starting a transaction"))?;
    let ags = site_ags(&tx, &ags_stmt, &m.site_id).await?;
    check_role(&caller, ags.as_deref(), "measure")?;
    let row = tx
        .query_one(
            &insert,
            &[&m.measure_id, &m.site_id, &m.kind.as_str(), &m.status.as_str(), &m.planned_date, &completed],
        )
        .await
        .map_err(insert_error("measure", "creating the measure", &m.measure_id))?;
    let (version, after): (i64, Value) = (row.get(0), row.get(1));
    audit(&tx, &audit_stmt, &caller, "create", "measure", &m.measure_id, None, &after).await?;
    tx.commit().await.map_err(ApiError::pg("committing the measure"))?;
    // Give the connection back before the coverage hook: writers queued on
    // the engine would otherwise hold the whole pool while the hook waits
    // for a connection of its own (B10, found by scripts/load).
    drop(c);
    reflect(&state, Some(Touched::Measures(vec![m.site_id.clone()]))).await;
    let location = format!("/api/v1/measures/{}", m.measure_id);
    Ok(resource(StatusCode::CREATED, version, after.to_string(), Some(location)))
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
    if p.measure_id.as_deref().is_some_and(|b| b != id) {
        return Err(ApiError::Unprocessable(format!(
            "measure_id in the body differs from the path ({id:?}); ids cannot change"
        )));
    }
    if let Some(site) = &p.site_id {
        check_id(site, "site_id")?;
    }
    check_dates(&[(DateField::Planned, patched(p.planned_date)), (DateField::Completed, patched(p.completed_date))])?;
    let mut c = state.db().conn().await?;
    let [lock, ags_stmt, update, audit_stmt] = prepared(
        &c,
        [include_str!("../../sql/measure_lock.sql"), SITE_AGS, include_str!("../../sql/measure_update.sql"), AUDIT],
    )
    .await?;
    let tx = c.transaction().await.map_err(DbError::pg("starting a transaction"))?;
    let Some(old) = tx
        .query_opt(&lock, &[&id])
        .await
        .map_err(ApiError::pg("reading the measure"))?
    else {
        return Err(ApiError::NotFound(format!("no measure with id {id:?}")));
    };
    let version: i64 = old.get(0);
    check_if_match(&headers, version, "measure")?;
    let old_site: String = old.get(1);
    let old_ags: Option<String> = old.get(6);
    check_role(&caller, old_ags.as_deref(), "measure")?;
    let old_status: MeasureStatus = old
        .get::<_, String>(3)
        .parse()
        .map_err(|e| ApiError::Internal(format!("stored measure status: {e}")))?;
    let status = p.status.unwrap_or(old_status);
    if !old_status.can_become(status) {
        let next: Vec<&str> = old_status.next().iter().map(|s| s.as_str()).collect();
        return Err(ApiError::Conflict(format!(
            "measure {id} cannot go from {old_status} to {status}; allowed next: {}",
            if next.is_empty() { "none (final state)".to_owned() } else { next.join(", ") }
        )));
    }
    let site_id = p.site_id.clone().unwrap_or_else(|| old_site.clone());
    if site_id != old_site {
        let new_ags = site_ags(&tx, &ags_stmt, &site_id).await?;
        check_role(&caller, new_ags.as_deref(), "measure")?;
    }
    let kind = p.kind.map_or_else(|| old.get::<_, String>(2), |k| k.as_str().to_owned());
    let planned: Option<NaiveDate> = p.planned_date.unwrap_or_else(|| old.get(4));
    let completed_in: Option<NaiveDate> = match p.completed_date {
        Some(d) => d,
        // Leaving completion out while moving away from it is not possible
        // (completed is final), so the stored date only matters when the
        // status stays completed.
        None => old.get(5),
    };
    let completed = completion(status, completed_in)?;
    let before: Value = old.get(7);
    let row = tx
        .query_one(
            &update,
            &[&id, &site_id, &kind, &status.as_str(), &planned, &completed],
        )
        .await
        .map_err(ApiError::pg("updating the measure"))?;
    let (new_version, after): (i64, Value) = (row.get(0), row.get(1));
    let changed = new_version != version;
    if changed {
        audit(&tx, &audit_stmt, &caller, "update", "measure", &id, Some(&before), &after).await?;
    }
    tx.commit().await.map_err(ApiError::pg("committing the measure"))?;
    // Give the connection back before the coverage hook: writers queued on
    // the engine would otherwise hold the whole pool while the hook waits
    // for a connection of its own (B10, found by scripts/load).
    drop(c);
    let mut sites = vec![site_id.clone()];
    if old_site != site_id {
        sites.push(old_site);
    }
    reflect(&state, changed.then_some(Touched::Measures(sites))).await;
    Ok(resource(StatusCode::OK, new_version, after.to_string(), None))
}
