use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::{ApiError, ApiResult, AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

/// `{"status":"ok"}` when the database answers a query, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let c = state.db().conn().await?;
    c.query_one("SELECT 1", &[])
        .await
        .map_err(|e| ApiError::Unavailable(funkplan_db::pg_detail(&e)))?;
    Ok(Json(json!({"status": "ok"})))
}
