use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::{ApiError, ApiResult, AppState};

/// `{"status":"ok"}` when the database reads go to answers a query, 503
/// otherwise. With standbys (issue 25) it also says which database
/// answered (`primary` or `standby-N`), whether the primary answers, and
/// per standby whether it is in rotation and how far behind it is, so a
/// load balancer keeps a node whose reads still work even while the
/// primary is away.
#[utoipa::path(get, path = "/healthz", tag = "meta",
    responses(
        (status = 200, description = "The database answers", body = Object, example = json!({"status": "ok", "database": "standby-1", "lag_seconds": 0.0, "primary": "up", "standbys": [{"name": "standby-1", "in_rotation": true, "lag_seconds": 0.0, "replay_age_seconds": 12.5, "replay_lsn": "0/3000060", "error": null}]})),
        (status = 503, description = "Database unavailable", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn healthz(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let source = crate::replica::resolve(&state);
    let c = state.db().conn().await?;
    c.query_one("SELECT 1", &[])
        .await
        .map_err(|e| ApiError::Unavailable(funkplan_db::pg_detail(&e)))?;
    let reads = state.reads();
    if reads.standby_count() == 0 {
        // The contract of DESIGN §7, unchanged for a single database.
        return Ok(Json(json!({"status": "ok"})));
    }
    let standbys = reads.status();
    let lag = match source {
        funkplan_db::ReadSource::Standby(i) => standbys.get(i).and_then(|s| s.lag_seconds),
        funkplan_db::ReadSource::Primary => Some(0.0),
    };
    Ok(Json(json!({
        "status": "ok",
        "database": reads.name(source),
        "lag_seconds": lag,
        "primary": if reads.primary_up() { "up" } else { "down" },
        "standbys": standbys,
    })))
}
