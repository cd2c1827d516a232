use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::{ApiError, ApiResult, AppState};

/// `{"status":"ok"}` when the database answers a query, 503 otherwise.
#[utoipa::path(get, path = "/healthz", tag = "meta",
    responses(
        (status = 200, description = "The database answers", body = Object, example = json!({"status": "ok"})),
        (status = 503, description = "Database unavailable", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn healthz(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let c = state.db().conn().await?;
    c.query_one("SELECT 1", &[])
        .await
        .map_err(|e| ApiError::Unavailable(funkplan_db::pg_detail(&e)))?;
    Ok(Json(json!({"status": "ok"})))
}
