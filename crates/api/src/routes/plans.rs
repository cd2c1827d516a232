//! Plans over HTTP (issue 23): `POST /api/v1/plans` asks the engine (through
//! the [`CoverageHook`](crate::CoverageHook)) for the sites that close the
//! most dead spots, keeps the answer with an id and, "as scenario", records
//! the chosen sites as planned sites and measures through the same audited
//! write path as `POST /sites` and `POST /measures`, so the scenario
//! figures, the map and the targets show their effect.
//! `GET /api/v1/plans/{id}` answers a kept plan.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use funkplan_model::{MeasureKind, MeasureStatus, OperatorId, Role, SiteStatus};
use serde_json::Value;

use crate::auth::Caller;
use crate::hook::{chain, PlanBody, PlanFailure};
use crate::http::{ApiJson, ApiPath};
use crate::store::measure::NewMeasure;
use crate::store::site::NewSite;
use crate::store::{self};
use crate::{ApiError, ApiResult, AppState};

/// Make a plan: the ranked sites with their marginal and cumulative gains,
/// the counts of sites for 50/90/100 % and GeoJSON; kept with an id.
/// Staff and admin plan anywhere; a municipality's token for its own AGS
/// (scope = its AGS) and without `as_scenario`.
#[utoipa::path(post, path = "/api/v1/plans", tag = "plans", request_body = PlanBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The plan, kept: {id, created_at, created_by, request, plan: {sites: [{rank, id, operator, kind, lon, lat, radius_m, households, area_km2, gain, cumulative_households, cumulative_area_km2, cumulative_share, …}], sites_for, open, reachable, geojson, …}, scenario: {sites, measures}}", body = Object, headers(("Location" = String))),
        (status = 400, description = "Malformed JSON", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No, unknown or revoked token", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "A municipality's token for another scope, or as_scenario", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The planner refuses the request, naming where and why: unknown technology or operator, a scope that is no AGS, budget 0 or above the candidates, duplicate candidate ids, a candidate outside the state, or a plan estimated to run longer than the limit (with the estimate)", body = crate::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No coverage engine (plans need `funkplan serve`)", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn create_plan(State(state): State<AppState>, caller: Caller, ApiJson(body): ApiJson<PlanBody>) -> ApiResult<Response> {
    if let Role::Municipality(own) = &caller.role {
        if body.scope != own.as_str() {
            return Err(ApiError::Forbidden(format!("role {} may plan for its own municipality only: scope must be {own}, not {}", caller.role, body.scope)));
        }
        if body.as_scenario {
            return Err(ApiError::Forbidden(format!("role {} may not put a plan into the scenario; staff or admin may", caller.role)));
        }
    }
    let Some(hook) = state.hook() else {
        return Err(ApiError::EngineUnavailable("plans need the coverage engine of `funkplan serve`".into()));
    };
    let result = hook.plan(body.clone()).await.map_err(|e| match e {
        PlanFailure::Invalid(why) => ApiError::Unprocessable(why),
        PlanFailure::Engine(e) => {
            tracing::warn!(error = %chain(&*e), "plan failed");
            ApiError::EngineUnavailable(format!("the plan could not be made: {e}"))
        }
    })?;
    // Check the scenario's writes before anything is stored.
    let writes = if body.as_scenario { scenario_writes(&body, &result)? } else { Vec::new() };
    let request = serde_json::to_value(&body).map_err(|e| ApiError::Internal(format!("plan request as JSON: {e}")))?;
    let mut stored = store::plan::create(state.db(), &caller, &body.scope, &request, &result).await?;
    let id = stored["id"].as_i64().unwrap_or(0);
    if body.as_scenario {
        let (mut sites, mut measures) = (Vec::new(), Vec::new());
        for (k, w) in writes.into_iter().enumerate() {
            let rank = k + 1;
            let upgrade = matches!(w, Write::Upgrade { .. });
            let site_id = match w {
                Write::NewSite { operator, lon, lat } => {
                    let site_id = format!("plan-{id}-{rank}");
                    let s = NewSite { site_id: site_id.clone(), operator, lon, lat, status: SiteStatus::Planned, technologies: Vec::new(), planned_date: None, on_air_date: None };
                    let w = store::site::create(state.db(), &caller, s, state.site_margin_m).await?;
                    if let Some(change) = w.change {
                        state.reflect(change).await;
                    }
                    sites.push(site_id.clone());
                    site_id
                }
                Write::Upgrade { site_id } => site_id,
            };
            let measure_id = format!("plan-{id}-{rank}-m");
            let m = NewMeasure { measure_id: measure_id.clone(), site_id, kind: kind_of(&body, upgrade), status: MeasureStatus::Planned, planned_date: None, completed_date: None };
            let w = store::measure::create(state.db(), &caller, m).await?;
            if let Some(change) = w.change {
                state.reflect(change).await;
            }
            measures.push(measure_id);
        }
        store::plan::set_scenario(state.db(), id, &sites, &measures).await?;
        stored["scenario"] = serde_json::json!({"sites": sites, "measures": measures});
    }
    let mut r = (StatusCode::CREATED, Json(stored)).into_response();
    if let Ok(l) = HeaderValue::from_str(&format!("/api/v1/plans/{id}")) {
        r.headers_mut().insert(header::LOCATION, l);
    }
    Ok(r)
}

/// A kept plan, as `POST` answered it (with the scenario's sites and
/// measures where it was put into the scenario).
#[utoipa::path(get, path = "/api/v1/plans/{id}", tag = "plans",
    params(("id" = i64, Path, description = "The plan's id")),
    responses(
        (status = 200, description = "The plan", body = Object),
        (status = 400, description = "The id is not a number", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No plan with this id", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn get_plan(State(state): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<Json<Value>> {
    let n: i64 = id.parse().map_err(|_| ApiError::BadRequest(format!("plan id {id:?} is not a number")))?;
    store::plan::get(state.db(), n).await?.map(Json).ok_or_else(|| ApiError::NotFound(format!("no plan with id {n}")))
}

/// What one chosen site becomes in the scenario.
enum Write {
    /// A planned site of `operator` at the candidate's place.
    NewSite { operator: OperatorId, lon: f64, lat: f64 },
    /// A measure on an existing site (an upgrade candidate).
    Upgrade { site_id: String },
}

/// The measure that brings the plan's technology on air: 5G is always an
/// upgrade (of a new or an existing site); LTE a new site, or the upgrade
/// of an existing one.
fn kind_of(body: &PlanBody, upgrade: bool) -> MeasureKind {
    match (body.technology.as_str(), upgrade) {
        ("5g", _) => MeasureKind::FiveGUpgrade,
        (_, false) => MeasureKind::LteNewSite,
        (_, true) => MeasureKind::LteUpgrade,
    }
}

/// The writes of "as scenario", checked before any is made: every chosen
/// site needs an operator that would build it.
fn scenario_writes(body: &PlanBody, result: &Value) -> ApiResult<Vec<Write>> {
    let sites = result["sites"].as_array().ok_or_else(|| ApiError::Internal("the plan has no sites list".into()))?;
    let mut out = Vec::with_capacity(sites.len());
    for s in sites {
        let rank = s["rank"].as_u64().unwrap_or(0);
        let id = s["id"].as_str().unwrap_or("");
        if s["kind"] == "upgrade" {
            out.push(Write::Upgrade { site_id: id.trim_start_matches("upgrade:").to_owned() });
            continue;
        }
        let Some(op) = s["operator"].as_str() else {
            return Err(ApiError::Unprocessable(format!(
                "as_scenario: site rank {rank} ({id}) has no operator to build it; give candidates with an operator or plan for one operator"
            )));
        };
        let operator: OperatorId = op.parse().map_err(|e| ApiError::Unprocessable(format!("as_scenario: site rank {rank}: {e}")))?;
        let (Some(lon), Some(lat)) = (s["lon"].as_f64(), s["lat"].as_f64()) else {
            return Err(ApiError::Internal(format!("plan site rank {rank} has no position")));
        };
        out.push(Write::NewSite { operator, lon, lat });
    }
    let _ = body;
    Ok(out)
}
