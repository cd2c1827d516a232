//! Targets with their current value, forecast and monthly history.

use axum::extract::State;
use axum::Json;
use funkplan_targets::TargetStatus;

use crate::http::QueryPairs;
use crate::{ApiError, ApiResult, AppState};

/// Every target with its current value, progress and forecast; with
/// `as_of`, as it stood on that day (issue 16).
#[utoipa::path(get, path = "/api/v1/targets", tag = "targets", operation_id = "list_targets",
    params(("as_of" = Option<String>, Query, description = "The targets as they stood on this date (YYYY-MM-DD, 2019-01-01 … today): value from the history's month of the date (as of that month's last day; for coverage the release in force then and the sites on air by then), progress, forecast and deadline verdicts from the history up to that month")),
    responses(
        (status = 200, description = "All targets in their seeded order", body = [TargetStatus]),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 400, description = "Malformed or impossible date, unknown parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "The targets' history starts after `as_of`", body = crate::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn list(State(state): State<AppState>, q: QueryPairs) -> ApiResult<Json<Vec<TargetStatus>>> {
    q.check(&["as_of"], |_| false)?;
    let Some(s) = q.get("as_of") else {
        return Ok(Json(funkplan_targets::status_all(state.db()).await?));
    };
    let date = super::dated::parse_as_of(s)?;
    match funkplan_targets::status_at(state.db(), date).await? {
        Some(list) => Ok(Json(list)),
        None => Err(ApiError::NotFound(format!("the targets' history starts after {date}: nothing is known of that day"))),
    }
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
