//! Sites: create and update, each in one audited transaction.

use chrono::NaiveDate;
use funkplan_db::{Db, Error as DbError};
use funkplan_model::{check_on_air_date, Change, DateField, OperatorId, Position, SiteStatus, Technology};
use serde::Deserialize;
use serde_json::Value;
use tokio_postgres::{Row, Statement, Transaction};

use super::audit::{self, Entry};
use super::rules::{self, check_dates, check_if_match, check_role, patched, techs};
use super::{col, explicit, insert_error, prepared, IfMatch, Versioned, Written};
use crate::auth::Caller;
use crate::{ApiError, ApiResult};

const GET: &str = include_str!("../../sql/site_get.sql");
const LOCK: &str = include_str!("../../sql/site_lock.sql");
const INSERT: &str = include_str!("../../sql/site_insert.sql");
const UPDATE: &str = include_str!("../../sql/site_update.sql");
const DISTANCE: &str = include_str!("../../sql/site_distance.sql");
/// The municipality of a site, locked against a concurrent move (for a
/// measure written on it).
pub(super) const AGS: &str = include_str!("../../sql/site_ags.sql");

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

/// The site as locked for an update (`site_lock.sql`).
struct Locked {
    version: i64,
    status: SiteStatus,
    operator: String,
    technologies: Vec<String>,
    planned: Option<NaiveDate>,
    on_air: Option<NaiveDate>,
    ags: Option<String>,
    json: Value,
}

impl Locked {
    fn read(r: &Row) -> ApiResult<Self> {
        const W: &str = "reading the site";
        let status: String = col(r, "status", W)?;
        Ok(Self {
            version: col(r, "version", W)?,
            status: status.parse().map_err(|e| ApiError::Internal(format!("stored site status: {e}")))?,
            operator: col(r, "operator_id", W)?,
            technologies: col(r, "technologies", W)?,
            planned: col(r, "planned_date", W)?,
            on_air: col(r, "on_air_date", W)?,
            ags: col(r, "ags", W)?,
            json: col(r, "json", W)?,
        })
    }
}

/// The site as written (`RETURNING` of insert and update).
struct Stored {
    version: i64,
    ags: Option<String>,
    json: Value,
}

impl Stored {
    fn read(r: &Row, what: &'static str) -> ApiResult<Self> {
        Ok(Self { version: col(r, "version", what)?, ags: col(r, "ags", what)?, json: col(r, "json", what)? })
    }
}

/// One site with its version; `None` when there is none.
pub(crate) async fn get(db: &Db, id: &str) -> ApiResult<Option<Versioned>> {
    super::get_one(db, GET, id).await
}

/// 422 unless the site at `pos` lies within `margin_m` of the loaded
/// municipalities. With none loaded there is nothing to measure against:
/// the coarse window of [`Position`] alone applies then, so sites can be
/// recorded before the municipalities are (as the ingest does); they get
/// no AGS until then.
async fn check_in_area(tx: &Transaction<'_>, stmt: &Statement, pos: Position, margin_m: f64) -> ApiResult<()> {
    let (lon, lat) = (pos.lon(), pos.lat());
    let row = tx.query_opt(stmt, &[&lon, &lat]).await.map_err(DbError::pg("locating the site"))?;
    let Some(row) = row else {
        return Ok(());
    };
    let distance: f64 = col(&row, "distance", "locating the site")?;
    if distance <= margin_m {
        return Ok(());
    }
    Err(ApiError::Unprocessable(format!(
        "lon/lat ({lon}, {lat}) lies {:.1} km from the nearest municipality of this system; sites must lie within {:.1} km of them (the configured border margin)",
        distance / 1000.0,
        margin_m / 1000.0
    )))
}

/// Record a new site for `caller`; a municipality only within its AGS.
pub(crate) async fn create(db: &Db, caller: &Caller, s: NewSite, margin_m: f64) -> ApiResult<Written> {
    let id = rules::site_id(&s.site_id)?;
    let pos = rules::position(s.lon, s.lat)?;
    check_dates(&[(DateField::Planned, s.planned_date), (DateField::OnAir, s.on_air_date)])?;
    check_on_air_date(s.status, s.on_air_date).map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    let mut c = db.conn().await?;
    let [distance, insert, audit_insert] = prepared(&c, [DISTANCE, INSERT, audit::INSERT]).await?;
    let tx = c.transaction().await.map_err(DbError::pg("starting a transaction"))?;
    check_in_area(&tx, &distance, pos, margin_m).await?;
    let row = tx
        .query_one(
            &insert,
            &[&id.as_str(), &s.operator.as_str(), &pos.lon(), &pos.lat(), &s.status.as_str(), &techs(&s.technologies), &s.planned_date, &s.on_air_date],
        )
        .await
        .map_err(insert_error("site", "creating the site", id.as_str()))?;
    let stored = Stored::read(&row, "creating the site")?;
    check_role(caller, stored.ags.as_deref(), "site")?;
    let entry = Entry { caller, action: "create", entity: "site", id: id.as_str(), before: None, after: &stored.json };
    audit::record(&tx, &audit_insert, entry).await?;
    tx.commit().await.map_err(DbError::pg("committing the site"))?;
    Ok(Written { version: stored.version, body: stored.json, change: Some(Change::sites(vec![id])) })
}

/// Apply `p` to site `id` if `if_match` names its version. Status moves
/// forward only; absent fields keep their stored values.
pub(crate) async fn update(
    db: &Db,
    caller: &Caller,
    id: &str,
    if_match: IfMatch<'_>,
    p: SitePatch,
    margin_m: f64,
) -> ApiResult<Written> {
    if p.site_id.as_deref().is_some_and(|b| b != id) {
        return Err(ApiError::Unprocessable(format!("site_id in the body differs from the path ({id:?}); ids cannot change")));
    }
    let point = match (p.lon, p.lat) {
        (Some(lon), Some(lat)) => Some(rules::position(lon, lat)?),
        (None, None) => None,
        _ => return Err(ApiError::Unprocessable("lon and lat must be given together".into())),
    };
    check_dates(&[(DateField::Planned, patched(p.planned_date)), (DateField::OnAir, patched(p.on_air_date))])?;
    let mut c = db.conn().await?;
    let [lock, distance, update, audit_insert] = prepared(&c, [LOCK, DISTANCE, UPDATE, audit::INSERT]).await?;
    let tx = c.transaction().await.map_err(DbError::pg("starting a transaction"))?;
    let Some(row) = tx.query_opt(&lock, &[&id]).await.map_err(DbError::pg("reading the site"))? else {
        return Err(ApiError::NotFound(format!("no site with id {id:?}")));
    };
    let old = Locked::read(&row)?;
    check_if_match(if_match, old.version, "site")?;
    check_role(caller, old.ags.as_deref(), "site")?;
    let status = rules::transition("site", id, old.status, p.status.unwrap_or(old.status))?;
    let operator = p.operator.as_ref().map_or(old.operator, |o| o.as_str().to_owned());
    let technologies = p.technologies.as_deref().map_or(old.technologies, techs);
    let planned = p.planned_date.unwrap_or(old.planned);
    let on_air = p.on_air_date.unwrap_or(old.on_air);
    check_on_air_date(status, on_air).map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    if let Some(pos) = point {
        check_in_area(&tx, &distance, pos, margin_m).await?;
    }
    let (lon, lat) = (point.map(Position::lon), point.map(Position::lat));
    let row = tx
        .query_one(&update, &[&id, &operator, &lon, &lat, &status.as_str(), &technologies, &planned, &on_air])
        .await
        .map_err(DbError::pg("updating the site"))?;
    let stored = Stored::read(&row, "updating the site")?;
    if stored.ags != old.ags {
        check_role(caller, stored.ags.as_deref(), "site")?;
    }
    let changed = stored.version != old.version;
    if changed {
        let entry = Entry { caller, action: "update", entity: "site", id, before: Some(&old.json), after: &stored.json };
        audit::record(&tx, &audit_insert, entry).await?;
    }
    tx.commit().await.map_err(DbError::pg("committing the site"))?;
    let change = if changed { Some(Change::sites(vec![rules::site_id(id)?])) } else { None };
    Ok(Written { version: stored.version, body: stored.json, change })
}
