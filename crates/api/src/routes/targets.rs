use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use funkplan_targets::TargetStatus;

use crate::{ApiResult, AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/targets", get(list))
}

/// Every target with its current value and progress.
async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<TargetStatus>>> {
    Ok(Json(funkplan_targets::status_all(state.db()).await?))
}
