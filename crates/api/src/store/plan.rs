//! Plans (issue 23) as a store: a plan is kept with an id in one
//! transaction with its audit row; "as scenario" records which planned
//! sites and measures it put into the scenario.

use funkplan_db::Error as DbError;
use serde_json::{json, Value};

use super::audit::{self, Entry};
use super::{col, prepared};
use crate::auth::Caller;
use crate::ApiResult;

const INSERT: &str = include_str!("../../sql/plan_insert.sql");
const SCENARIO: &str = include_str!("../../sql/plan_scenario.sql");
const GET: &str = include_str!("../../sql/plan_get.sql");

/// Keep a plan: the request as given and the engine's answer. Returns the
/// stored plan as answered by [`get`].
pub(crate) async fn create(db: &funkplan_db::Db, caller: &Caller, scope: &str, request: &Value, result: &Value) -> ApiResult<Value> {
    let mut c = db.conn().await?;
    let [insert, audit_insert] = prepared(&c, [INSERT, audit::INSERT]).await?;
    let tx = c.transaction().await.map_err(DbError::pg("starting a transaction"))?;
    const WHAT: &str = "storing the plan";
    let row = tx.query_one(&insert, &[&caller.actor(), &scope, request, result]).await.map_err(DbError::pg(WHAT))?;
    let id: i64 = col(&row, "plan_id", WHAT)?;
    let at: chrono::DateTime<chrono::Utc> = col(&row, "created_at", WHAT)?;
    let stored = body(id, at, &caller.actor(), request, result, &[], &[]);
    let id_text = id.to_string();
    // The audit row holds the request, not the (large) answer: who asked
    // for what; the answer is kept in the plan itself.
    audit::record(&tx, &audit_insert, Entry { caller, action: "create", entity: "plan", id: &id_text, before: None, after: request }).await?;
    tx.commit().await.map_err(DbError::pg("committing the plan"))?;
    Ok(stored)
}

/// Record the planned sites and measures a plan put into the scenario.
pub(crate) async fn set_scenario(db: &funkplan_db::Db, id: i64, sites: &[String], measures: &[String]) -> ApiResult<()> {
    let c = db.conn().await?;
    c.execute(SCENARIO, &[&id, &sites, &measures]).await.map_err(DbError::pg("recording the plan's scenario"))?;
    Ok(())
}

/// A stored plan, or `None`.
pub(crate) async fn get(db: &funkplan_db::Db, id: i64) -> ApiResult<Option<Value>> {
    let c = db.conn().await?;
    const WHAT: &str = "reading a plan";
    let Some(row) = c.query_opt(GET, &[&id]).await.map_err(DbError::pg(WHAT))? else {
        return Ok(None);
    };
    let sites: Vec<String> = col(&row, "scenario_sites", WHAT)?;
    let measures: Vec<String> = col(&row, "scenario_measures", WHAT)?;
    Ok(Some(body(
        col(&row, "plan_id", WHAT)?,
        col(&row, "created_at", WHAT)?,
        &col::<String>(&row, "created_by", WHAT)?,
        &col(&row, "request", WHAT)?,
        &col(&row, "result", WHAT)?,
        &sites,
        &measures,
    )))
}

/// The answer's shape, the same for POST and GET.
pub(crate) fn body(id: i64, at: chrono::DateTime<chrono::Utc>, by: &str, request: &Value, result: &Value, sites: &[String], measures: &[String]) -> Value {
    json!({
        "id": id,
        "created_at": at,
        "created_by": by,
        "request": request,
        "plan": result,
        "scenario": {"sites": sites, "measures": measures},
    })
}
