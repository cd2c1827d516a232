//! Targets with their current value, forecast and monthly history.

use axum::extract::State;
use axum::Json;
use funkplan_targets::TargetStatus;

use crate::ApiResult;
use crate::AppState;

/// Every target with its current value, progress and forecast.
#[utoipa::path(get, path = "/api/v1/targets", tag = "targets", operation_id = "list_targets",
    responses(
        (status = 200, description = "All targets in their seeded order", body = [TargetStatus]),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 503, description = "Database unavailable", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<TargetStatus>>> {
    Ok(Json(funkplan_targets::status_all(state.db()).await?))
}

/// The monthly series of a target's metric (value at the end of each month).
#[utoipa::path(get, path = "/api/v1/targets/{id}/history", tag = "targets",
    params(("id" = String, Path, description = "Target id", example = "5g-upgrades")),
    responses(
        (status = 200, description = "Monthly values, oldest first", body = [funkplan_targets::HistoryPoint]),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 404, description = "Unknown target", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn history(
    State(state): State<AppState>,
    crate::http::ApiPath(id): crate::http::ApiPath<String>,
) -> ApiResult<Json<Vec<funkplan_targets::HistoryPoint>>> {
    match funkplan_targets::history(state.db(), &id).await? {
        Some(points) => Ok(Json(points)),
        None => Err(crate::ApiError::NotFound(format!("no target {id:?}"))),
    }
}
