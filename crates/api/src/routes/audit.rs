//! The audit log: who changed what, when, with the object before and after.
//!
//! Only rollout staff and admins read it: entries name each writer's token
//! and role and carry whole objects before and after, which is internal
//! working data, not public information (issue 20). A municipality sees
//! its own objects through the public routes; the log's cross-municipality
//! view of who wrote what is not its business.

use axum::extract::State;
use axum::http::header;
use axum::response::Response;

use super::municipalities::json_bytes;
use funkplan_model::Role;

use crate::auth::Caller;
use crate::http::QueryPairs;
use crate::origin::Origin;
use crate::openapi::schema;
use crate::{ApiError, ApiResult, AppState};

/// Audit entries, newest first, paged.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", operation_id = "list_audit",
    params(
        ("limit" = Option<i64>, Query, description = "Entries per page (1..1000, default 100)"),
        ("offset" = Option<i64>, Query, description = "Entries to skip (0..1000000000, default 0)"),
        ("entity" = Option<String>, Query, description = "Only this kind of object: site, measure or plan"),
        ("entity_id" = Option<String>, Query, description = "Only this object id"),
    ),
    responses(
        (status = 200, description = "A page of the audit log", body = schema::AuditPage),
        (status = 400, description = "Unknown or malformed parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No, unknown or revoked token", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the roles staff and admin read the audit log", body = crate::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed authentications", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub(crate) async fn list(State(state): State<AppState>, caller: Caller, origin: Origin, q: QueryPairs) -> ApiResult<Response> {
    if !matches!(caller.role, Role::Admin | Role::Staff) {
        return Err(ApiError::Forbidden(format!(
            "role {} may not read the audit log; it is for the roles staff and admin",
            caller.role
        )));
    }
    q.check(&["limit", "offset", "entity", "entity_id"], |_| false)?;
    let limit = q.int("limit", 100, 1, 1000, true)?;
    // Bounded so that offset + limit cannot overflow (and no audit log is
    // anywhere near a billion rows).
    let offset = q.int("offset", 0, 0, 1_000_000_000, false)?;
    let entity = q.get("entity");
    if let Some(e) = entity {
        if e != "site" && e != "measure" && e != "plan" {
            return Err(ApiError::BadRequest(format!("entity must be site, measure or plan, got {e:?}")));
        }
    }
    let entity_id = q.get("entity_id");
    let (total, items) = crate::store::audit::page(state.db(), entity, entity_id, limit, offset).await?;
    let page_url = |off: i64| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &q.0 {
            if k != "offset" && k != "limit" {
                s.append_pair(k, v);
            }
        }
        s.append_pair("limit", &limit.to_string());
        s.append_pair("offset", &off.to_string());
        format!("{}/api/v1/audit?{}", origin.base(), s.finish())
    };
    let next = if offset + limit < total { serde_json::Value::String(page_url(offset + limit)) } else { serde_json::Value::Null };
    let prev = if offset > 0 { serde_json::Value::String(page_url((offset - limit).max(0))) } else { serde_json::Value::Null };
    let body = format!(
        "{{\"total\":{total},\"limit\":{limit},\"offset\":{offset},\"next\":{next},\"prev\":{prev},\"items\":{items}}}"
    );
    let mut r = json_bytes(body, "application/json");
    r.headers_mut()
        .insert(header::CACHE_CONTROL, axum::http::HeaderValue::from_static("private, no-cache"));
    Ok(r)
}
