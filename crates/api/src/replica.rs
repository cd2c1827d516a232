//! Which database a request reads from, and the consistency token of
//! writes (issue 25; the pools and the checker are `funkplan_db::replica`).
//!
//! One layer decides for every request, so handlers need not know about
//! standbys: they call [`AppState::db`] as before, and inside a `GET` or
//! `HEAD` request that returns the pool this layer chose.
//!
//! - **Reads** pick a standby in rotation that has replayed at least the
//!   client's token (header [`CONSISTENCY`]) and the position of the data
//!   version the server knows ([`crate::version`]). The choice is made
//!   before the response cache is consulted (asking a standby its position
//!   is async) and checked again, without a round trip, when the handler
//!   asks for the pool: by then the data version may have moved on, and an
//!   answer cached under the new version must come from a database that
//!   has the change. A standby that fails that check leaves the read to the
//!   primary.
//! - **Writes** (`POST`, `PUT`, `PATCH`, `DELETE` answered 2xx) carry the
//!   primary's WAL position after the write and its coverage update
//!   committed, in [`CONSISTENCY`]. A client that sends it back reads its
//!   own write on any node. The same position is made the data version's,
//!   so the writing node's cache, too, only keeps answers that have it.
//!
//! Tokens are issued without standbys too: several nodes on one database
//! still each keep a response cache, and a token newer than the version a
//! node's cache knows makes that node ask the database
//! ([`cache_may_answer`]), so a client reads its own write on any node.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use funkplan_db::{Lsn, ReadSource};

use crate::{ApiError, AppState};

/// The consistency token: on a write's answer, the WAL position it
/// committed at; on a read, the position the answer must include.
pub const CONSISTENCY: &str = "funkplan-consistency";
/// On a read's answer: which database answered (`primary`, `standby-N`);
/// absent when none was asked (the response cache answered).
pub const READ_SOURCE: &str = "funkplan-read-source";

tokio::task_local! {
    static READ: Arc<Scope>;
}

/// What the layer decided for one read.
pub(crate) struct Scope {
    token: Lsn,
    /// The standby chosen before the handler ran, if any.
    candidate: Option<usize>,
    /// What [`AppState::db`] last handed out: 0 nothing, 1 the primary,
    /// 2 + i standby i.
    used: AtomicUsize,
}

impl Scope {
    fn record(&self, s: ReadSource) {
        let v = match s {
            ReadSource::Primary => 1,
            ReadSource::Standby(i) => 2 + i,
        };
        self.used.store(v, Ordering::Relaxed);
    }

    fn used(&self) -> Option<ReadSource> {
        match self.used.load(Ordering::Relaxed) {
            0 => None,
            1 => Some(ReadSource::Primary),
            v => Some(ReadSource::Standby(v - 2)),
        }
    }
}

/// The pool [`AppState::db`] hands out: inside a read, the standby chosen
/// if it still has what the current data version needs, else the primary.
pub(crate) fn resolve(state: &AppState) -> ReadSource {
    READ.try_with(|scope| {
        let min = scope.token.max(state.version().lsn());
        let source = match scope.candidate {
            Some(i) if state.reads().serves(i, min) => ReadSource::Standby(i),
            _ => ReadSource::Primary,
        };
        scope.record(source);
        source
    })
    .unwrap_or(ReadSource::Primary)
}

/// The token a read presents, if any; a malformed one is the client's
/// error (400 naming the header), not a reason to ignore it.
fn token_of(req: &Request) -> Result<Lsn, ApiError> {
    token_in(req.headers())
}

/// The consistency token among `headers` (`Lsn(0)` without one).
fn token_in(headers: &axum::http::HeaderMap) -> Result<Lsn, ApiError> {
    let Some(v) = headers.get(CONSISTENCY) else { return Ok(Lsn(0)) };
    let text = v
        .to_str()
        .map_err(|_| ApiError::BadRequest(format!("header {CONSISTENCY}: not ASCII text; send the value a write answered with, e.g. 0/3000060")))?;
    text.parse().map_err(|e| ApiError::BadRequest(format!("header {CONSISTENCY}: {e}")))
}

/// Whether the response cache may answer `req`: not when it presents a
/// token past the position of the data version this node knows (the
/// change notification has not reached it yet; what is cached may be
/// older than the client's own write).
pub(crate) fn cache_may_answer(state: &AppState, req: &Request) -> bool {
    memory_may_answer(state, req.headers())
}

/// Whether data held in memory at the data version this node knows may
/// answer a request with `headers` (the response cache, the in-memory
/// collections and figures): not when its token is past that version.
pub(crate) fn memory_may_answer(state: &AppState, headers: &axum::http::HeaderMap) -> bool {
    match token_in(headers) {
        Ok(t) => t <= state.version().lsn(),
        Err(_) => false,
    }
}

/// The layer (see the module's documentation).
pub(crate) async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    if method == Method::GET || method == Method::HEAD {
        let token = match token_of(&req) {
            Ok(t) => t,
            Err(e) => return e.into_response(),
        };
        if state.reads().standby_count() == 0 {
            return next.run(req).await;
        }
        let min = token.max(state.version().lsn());
        let candidate = match state.reads().pick(min).await {
            ReadSource::Standby(i) => Some(i),
            ReadSource::Primary => None,
        };
        // A read the standby fails (it went down since the last check) is
        // answered once more from the primary; a GET has no body to keep.
        let again = candidate.map(|_| (req.method().clone(), req.uri().clone(), req.version(), req.headers().clone(), req.extensions().clone()));
        let mut scope = Arc::new(Scope { token, candidate, used: AtomicUsize::new(0) });
        let mut resp = READ.scope(scope.clone(), next.clone().run(req)).await;
        if let (StatusCode::SERVICE_UNAVAILABLE, Some(ReadSource::Standby(i)), Some((m, uri, version, headers, ext))) = (resp.status(), scope.used(), again) {
            state.reads().take_out(i, "a read failed on it");
            let mut req = Request::new(axum::body::Body::empty());
            *req.method_mut() = m;
            *req.uri_mut() = uri;
            *req.version_mut() = version;
            *req.headers_mut() = headers;
            *req.extensions_mut() = ext;
            scope = Arc::new(Scope { token, candidate: None, used: AtomicUsize::new(0) });
            resp = READ.scope(scope.clone(), next.run(req)).await;
        }
        if let Some(used) = scope.used() {
            state.reads().count(used);
            if let Ok(v) = HeaderValue::from_str(&state.reads().name(used)) {
                resp.headers_mut().insert(READ_SOURCE, v);
            }
        }
        return resp;
    }
    let mut resp = next.run(req).await;
    let writes = matches!(method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE);
    if writes && resp.status().is_success() {
        match state.reads().primary_lsn().await {
            Ok(lsn) => {
                state.version().advance(lsn);
                if let Ok(v) = HeaderValue::from_str(&lsn.to_string()) {
                    resp.headers_mut().insert(CONSISTENCY, v);
                }
            }
            // The write stands; the client just gets no token (its reads
            // are then eventually consistent).
            Err(e) => tracing::warn!(error = %e, "no consistency token for a committed write"),
        }
    }
    resp
}

/// The replica series of `/metrics`: per standby whether it is in
/// rotation, its lag and the age of its last replayed transaction; reads
/// by source; whether the primary answers.
pub(crate) fn render_metrics(state: &AppState, out: &mut String) {
    use std::fmt::Write;
    let reads = state.reads();
    if reads.standby_count() == 0 {
        return;
    }
    let status = reads.status();
    out.push_str("# HELP funkplan_replica_in_rotation Whether reads go to the standby (1) or not (0).\n# TYPE funkplan_replica_in_rotation gauge\n");
    for s in &status {
        let _ = writeln!(out, "funkplan_replica_in_rotation{{standby=\"{}\"}} {}", s.name, u8::from(s.in_rotation));
    }
    out.push_str("# HELP funkplan_replica_lag_seconds How long the standby's replay has been behind the primary's WAL (absent: unknown).\n# TYPE funkplan_replica_lag_seconds gauge\n");
    for s in &status {
        if let Some(l) = s.lag_seconds {
            let _ = writeln!(out, "funkplan_replica_lag_seconds{{standby=\"{}\"}} {l}", s.name);
        }
    }
    out.push_str("# HELP funkplan_replica_replay_age_seconds Age of the last transaction the standby replayed (grows while the primary is idle).\n# TYPE funkplan_replica_replay_age_seconds gauge\n");
    for s in &status {
        if let Some(a) = s.replay_age_seconds {
            let _ = writeln!(out, "funkplan_replica_replay_age_seconds{{standby=\"{}\"}} {a}", s.name);
        }
    }
    let (standby, primary, fallbacks) = reads.read_counts();
    out.push_str("# HELP funkplan_reads_total Reads that asked a database, by which one answered.\n# TYPE funkplan_reads_total counter\n");
    let _ = writeln!(out, "funkplan_reads_total{{source=\"standby\"}} {standby}");
    let _ = writeln!(out, "funkplan_reads_total{{source=\"primary\"}} {primary}");
    out.push_str("# HELP funkplan_read_fallbacks_total Reads that found no standby in rotation far enough and went to the primary.\n# TYPE funkplan_read_fallbacks_total counter\n");
    let _ = writeln!(out, "funkplan_read_fallbacks_total {fallbacks}");
    out.push_str("# HELP funkplan_primary_up Whether the primary answered the replica checker's last question.\n# TYPE funkplan_primary_up gauge\n");
    let _ = writeln!(out, "funkplan_primary_up {}", u8::from(reads.primary_up()));
}
