//! The API description and the metrics.

use std::fmt::Write;

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// The OpenAPI 3.0 description of this API.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "OpenAPI 3.0 document", body = Object, content_type = "application/vnd.oai.openapi+json;version=3.0")))]
pub(crate) async fn openapi(State(state): State<AppState>) -> Response {
    let mut r = state.openapi_bytes().into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/vnd.oai.openapi+json;version=3.0"));
    r
}

/// Metrics in the Prometheus text format: requests by route and status,
/// latency histogram, pool state, the last coverage run's duration.
#[utoipa::path(get, path = "/metrics", tag = "meta",
    responses((status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain; version=0.0.4")))]
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let mut out = String::with_capacity(8192);
    state.metrics().render(&mut out);
    let s = state.reads().primary().pool().status();
    out.push_str("# HELP funkplan_db_pool_size Connections open in the pool.\n# TYPE funkplan_db_pool_size gauge\n");
    let _ = writeln!(out, "funkplan_db_pool_size {}", s.size);
    out.push_str("# HELP funkplan_db_pool_available Idle connections in the pool.\n# TYPE funkplan_db_pool_available gauge\n");
    let _ = writeln!(out, "funkplan_db_pool_available {}", s.available);
    out.push_str("# HELP funkplan_db_pool_max Largest pool size.\n# TYPE funkplan_db_pool_max gauge\n");
    let _ = writeln!(out, "funkplan_db_pool_max {}", s.max_size);
    out.push_str("# HELP funkplan_db_pool_waiting Requests waiting for a connection.\n# TYPE funkplan_db_pool_waiting gauge\n");
    let _ = writeln!(out, "funkplan_db_pool_waiting {}", s.waiting);
    crate::replica::render_metrics(&state, &mut out);
    if let Some(LastRun { ms, incremental, at }) = last_run(&state).await {
        out.push_str("# HELP funkplan_recompute_duration_seconds Duration of the last coverage run (load + compute + write).\n# TYPE funkplan_recompute_duration_seconds gauge\n");
        let _ = writeln!(out, "funkplan_recompute_duration_seconds{{incremental=\"{incremental}\"}} {}", ms / 1000.0);
        out.push_str("# HELP funkplan_recompute_timestamp_seconds When the last coverage run finished.\n# TYPE funkplan_recompute_timestamp_seconds gauge\n");
        let _ = writeln!(out, "funkplan_recompute_timestamp_seconds {at}");
    }
    let mut r = out.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The last coverage run, as `sql/last_run.sql` reads it.
struct LastRun {
    /// Load + compute + write, milliseconds.
    ms: f64,
    incremental: bool,
    /// When it finished, seconds since the Unix epoch.
    at: f64,
}

/// The last coverage run; `None` before the first one, and when the
/// database cannot say: the metrics answer with what they have.
async fn last_run(state: &AppState) -> Option<LastRun> {
    let c = state.db().conn().await.ok()?;
    let r = c.query_opt(include_str!("../../sql/last_run.sql"), &[]).await.ok()??;
    Some(LastRun {
        ms: r.try_get("duration_ms").ok()?,
        incremental: r.try_get("incremental").ok()?,
        at: r.try_get("finished_at").ok()?,
    })
}
