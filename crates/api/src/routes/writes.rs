//! Sites and measures: read with ETag, create, update with If-Match, each
//! write audited in its own transaction, then the coverage hook.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use funkplan_db::Error as DbError;
use funkplan_model::{Ags, MeasureKind, MeasureStatus, OperatorId, Role, SiteStatus, Technology};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use tokio_postgres::Statement;

use crate::auth::Caller;
use crate::http::{etag_matches, ApiJson, ApiPath};
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
fn check_if_match(headers: &HeaderMap, version: i64, what: &str) -> ApiResult<()> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Err(ApiError::PreconditionRequired(format!(
            "updating a {what} needs an If-Match header with the ETag from GET (so that no update is lost)"
        )));
    };
    let v = v.to_str().map_err(|_| ApiError::BadRequest("If-Match is not readable text".into()))?;
    if etag_matches(v, &format!("\"{version}\"")) {
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
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::Unprocessable(format!(
            "{what} {id:?} must be 1 to 64 characters of letters, digits, '.', '_', ':' or '-'"
        )))
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
        (status = 409, description = "A site with this id exists", body = crate::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body larger than 1 MiB", body = crate::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = crate::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed authentications", body = crate::Problem, content_type = "application/problem+json"),
        (status = 507, description = "The database has no disk space left; nothing was stored", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn create_site(State(state): State<AppState>, caller: Caller, ApiJson(s): ApiJson<NewSite>) -> ApiResult<Response> {
    check_id(&s.site_id, "site_id")?;
    check_point(s.lon, s.lat)?;
    let mut c = state.db().conn().await?;
    let [insert, audit_stmt] = prepared(&c, [include_str!("../../sql/site_insert.sql"), AUDIT]).await?;
    let tx = c.transaction().await.map_err(DbError::pg("starting a transaction"))?;
    let row = tx
        .query_one(
            &insert,
            &[&s.site_id, &s.operator.as_str(), &s.lon, &s.lat, &s.status.as_str(), &techs(&s.technologies), &s.planned_date, &s.on_air_date],
        )
        .await
        .map_err(ApiError::pg("creating the site"))?;
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
        (status = 412, description = "If-Match is stale", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = crate::Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = crate::Problem, content_type = "application/problem+json"),
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
    let mut c = state.db().conn().await?;
    let [lock, update, audit_stmt] =
        prepared(&c, [include_str!("../../sql/site_lock.sql"), include_str!("../../sql/site_update.sql"), AUDIT]).await?;
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
        (status = 409, description = "A measure with this id exists", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field or unknown site", body = crate::Problem, content_type = "application/problem+json"),
        (status = 507, description = "The database has no disk space left; nothing was stored", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn create_measure(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(m): ApiJson<NewMeasure>,
) -> ApiResult<Response> {
    check_id(&m.measure_id, "measure_id")?;
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
        .map_err(ApiError::pg("creating the measure"))?;
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
        (status = 412, description = "If-Match is stale", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = crate::Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = crate::Problem, content_type = "application/problem+json"),
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
