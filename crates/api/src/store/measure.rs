//! Measures: create and update, each in one audited transaction; the
//! measure's site decides who may write it.

use chrono::NaiveDate;
use funkplan_db::{Db, Error as DbError};
use funkplan_model::{Change, DateField, MeasureKind, MeasureStatus};
use serde::Deserialize;
use serde_json::Value;
use tokio_postgres::{Row, Statement, Transaction};

use super::audit::{self, Entry};
use super::rules::{self, check_dates, check_if_match, check_role, completion, patched};
use super::{col, explicit, insert_error, prepared, site, IfMatch, Versioned, Written};
use crate::auth::Caller;
use crate::{ApiError, ApiResult};

const GET: &str = include_str!("../../sql/measure_get.sql");
const LOCK: &str = include_str!("../../sql/measure_lock.sql");
const INSERT: &str = include_str!("../../sql/measure_insert.sql");
const UPDATE: &str = include_str!("../../sql/measure_update.sql");

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

/// The measure as locked for an update (`measure_lock.sql`), with its
/// site's municipality.
struct Locked {
    version: i64,
    site_id: String,
    kind: String,
    status: MeasureStatus,
    planned: Option<NaiveDate>,
    completed: Option<NaiveDate>,
    ags: Option<String>,
    json: Value,
}

impl Locked {
    fn read(r: &Row) -> ApiResult<Self> {
        const W: &str = "reading the measure";
        let status: String = col(r, "status", W)?;
        Ok(Self {
            version: col(r, "version", W)?,
            site_id: col(r, "site_id", W)?,
            kind: col(r, "kind", W)?,
            status: status.parse().map_err(|e| ApiError::Internal(format!("stored measure status: {e}")))?,
            planned: col(r, "planned_date", W)?,
            completed: col(r, "completed_date", W)?,
            ags: col(r, "ags", W)?,
            json: col(r, "json", W)?,
        })
    }
}

/// One measure with its version; `None` when there is none.
pub(crate) async fn get(db: &Db, id: &str) -> ApiResult<Option<Versioned>> {
    super::get_one(db, GET, id).await
}

/// The municipality of a site, locking it against a concurrent move; 422
/// when the site does not exist.
async fn site_ags(tx: &Transaction<'_>, stmt: &Statement, site_id: &str) -> ApiResult<Option<String>> {
    const W: &str = "reading the measure's site";
    let row = tx.query_opt(stmt, &[&site_id]).await.map_err(DbError::pg(W))?;
    match row {
        Some(r) => col(&r, "ags", W),
        None => Err(ApiError::Unprocessable(format!("site {site_id:?} does not exist; create it first"))),
    }
}

/// Record a new measure on an existing site; the caller must be allowed to
/// write for the site's municipality.
pub(crate) async fn create(db: &Db, caller: &Caller, m: NewMeasure) -> ApiResult<Written> {
    let id = rules::measure_id(&m.measure_id)?;
    let site = rules::site_id(&m.site_id)?;
    check_dates(&[(DateField::Planned, m.planned_date), (DateField::Completed, m.completed_date)])?;
    let completed = completion(m.status, m.completed_date)?;
    let mut c = db.conn().await?;
    let [ags_stmt, insert, audit_insert] = prepared(&c, [site::AGS, INSERT, audit::INSERT]).await?;
    let tx = c.transaction().await.map_err(DbError::pg("starting a transaction"))?;
    let ags = site_ags(&tx, &ags_stmt, site.as_str()).await?;
    check_role(caller, ags.as_deref(), "measure")?;
    let row = tx
        .query_one(&insert, &[&id.as_str(), &site.as_str(), &m.kind.as_str(), &m.status.as_str(), &m.planned_date, &completed])
        .await
        .map_err(insert_error("measure", "creating the measure", id.as_str()))?;
    const W: &str = "creating the measure";
    let (version, after): (i64, Value) = (col(&row, "version", W)?, col(&row, "json", W)?);
    let entry = Entry { caller, action: "create", entity: "measure", id: id.as_str(), before: None, after: &after };
    audit::record(&tx, &audit_insert, entry).await?;
    tx.commit().await.map_err(DbError::pg("committing the measure"))?;
    Ok(Written { version, body: after, change: Some(Change::measures(vec![site])) })
}

/// Apply `p` to measure `id` if `if_match` names its version. Status moves
/// `planned → in_progress → completed`, and `completed` is final; moving it
/// to another site needs the right to write on both.
pub(crate) async fn update(db: &Db, caller: &Caller, id: &str, if_match: IfMatch<'_>, p: MeasurePatch) -> ApiResult<Written> {
    if p.measure_id.as_deref().is_some_and(|b| b != id) {
        return Err(ApiError::Unprocessable(format!(
            "measure_id in the body differs from the path ({id:?}); ids cannot change"
        )));
    }
    let new_site = p.site_id.as_deref().map(rules::site_id).transpose()?;
    check_dates(&[(DateField::Planned, patched(p.planned_date)), (DateField::Completed, patched(p.completed_date))])?;
    let mut c = db.conn().await?;
    let [lock, ags_stmt, update, audit_insert] = prepared(&c, [LOCK, site::AGS, UPDATE, audit::INSERT]).await?;
    let tx = c.transaction().await.map_err(DbError::pg("starting a transaction"))?;
    let Some(row) = tx.query_opt(&lock, &[&id]).await.map_err(DbError::pg("reading the measure"))? else {
        return Err(ApiError::NotFound(format!("no measure with id {id:?}")));
    };
    let old = Locked::read(&row)?;
    check_if_match(if_match, old.version, "measure")?;
    check_role(caller, old.ags.as_deref(), "measure")?;
    let status = rules::transition("measure", id, old.status, p.status.unwrap_or(old.status))?;
    let site_id = new_site.map_or_else(|| old.site_id.clone(), |s| s.into_string());
    if site_id != old.site_id {
        let new_ags = site_ags(&tx, &ags_stmt, &site_id).await?;
        check_role(caller, new_ags.as_deref(), "measure")?;
    }
    let kind = p.kind.map_or(old.kind, |k| k.as_str().to_owned());
    let planned = p.planned_date.unwrap_or(old.planned);
    // Leaving completion out while moving away from it is not possible
    // (completed is final), so the stored date only matters when the
    // status stays completed.
    let completed = completion(status, p.completed_date.unwrap_or(old.completed))?;
    let row = tx
        .query_one(&update, &[&id, &site_id, &kind, &status.as_str(), &planned, &completed])
        .await
        .map_err(DbError::pg("updating the measure"))?;
    const W: &str = "updating the measure";
    let (version, after): (i64, Value) = (col(&row, "version", W)?, col(&row, "json", W)?);
    let changed = version != old.version;
    if changed {
        let entry = Entry { caller, action: "update", entity: "measure", id, before: Some(&old.json), after: &after };
        audit::record(&tx, &audit_insert, entry).await?;
    }
    tx.commit().await.map_err(DbError::pg("committing the measure"))?;
    let change = if changed {
        let mut sites = vec![rules::site_id(&site_id)?];
        if old.site_id != site_id {
            sites.push(rules::site_id(&old.site_id)?);
        }
        Some(Change::measures(sites))
    } else {
        None
    };
    Ok(Written { version, body: after, change })
}
