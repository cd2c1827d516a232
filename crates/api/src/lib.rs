#![doc = include_str!("../README.md")]
//!
//! The HTTP face of Funkplan NRW (docs/http.md).
//!
//! [`router`] builds the whole application; `main` only binds a socket and
//! calls [`serve`]. Tests drive the router with `tower::ServiceExt::oneshot`.
//!
//! Layers, outermost first: request id, tracing span, CORS, problem+json
//! for every error, timeout, compression, body limit, conditional GET
//! (ETag / 304); cacheable routes add the response cache
//! (`cache`), every matched route the metrics observer.

pub mod auth;
mod cache;
mod catalog;
mod error;
mod gpkg;
mod ogc_html;
mod hook;
pub mod http;
mod metrics;
pub mod openapi;
pub mod origin;
mod reload;
pub mod replica;
mod routes;
pub mod server;
mod store;
mod tiles;
mod version;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderName, Method};
use axum::Router;
use funkplan_db::{Db, ReadSet, ReadSource};
use funkplan_model::Change;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::CorsLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use auth::{create_token, list_tokens, revoke_token, verify_token, Caller, NewToken, TokenInfo};
pub use error::{ApiError, ApiResult, Problem};
pub use routes::export::export;
pub use hook::{CoverageHook, DatedAll, DatedFigures, DatedSeries, DatedTech, HookError};
pub use hook::{PlanBody, PlanCandidate, PlanFailure};
pub use hook::{TileBlocks, TileCells, TileView};
pub use routes::route_table;
pub use server::{bind, serve, ServeOptions};
#[doc(hidden)]
pub use routes::ogc::features::reference_items;

/// Largest request body accepted (413 beyond).
pub const BODY_LIMIT: usize = 1 << 20;

/// Where the built web app is looked for unless configured (relative to the
/// working directory).
pub const DEFAULT_WEB_DIR: &str = "web/dist";

/// Shared state of all handlers; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    db: Db,
    hook: Option<Arc<dyn CoverageHook>>,
    web_dir: Arc<PathBuf>,
    origin: Arc<origin::OriginConfig>,
    shared: Arc<Shared>,
    /// How far outside the loaded municipalities a written site may lie
    /// (metres); see [`AppState::with_site_margin_m`].
    pub(crate) site_margin_m: f64,
    /// Whether point collections are answered from memory
    /// ([`AppState::with_memory`]).
    memory_on: bool,
    /// The primary and the hot standbys reads may go to
    /// ([`AppState::with_read_set`]; by default the primary alone).
    reads: ReadSet,
}

struct Shared {
    version: Arc<version::DataVersion>,
    cache: cache::ResponseCache,
    metrics: metrics::Metrics,
    limiter: auth::AuthLimiter,
    openapi: bytes::Bytes,
    memory: Arc<routes::ogc::memory::Memory>,
    /// Every municipality's figures, from memory (issue 19).
    figures: Arc<reload::Reloading<std::collections::HashMap<String, String>>>,
    /// Coverage tiles cut and encoded at once ([`tiles::encoder_slots`]).
    tile_encoders: tokio::sync::Semaphore,
}

impl AppState {
    /// State on `db`, without coverage hook, serving the web app from
    /// [`DEFAULT_WEB_DIR`] (the CLI passes its `--web-dir` /
    /// `FUNKPLAN_WEB_DIR` through [`AppState::with_web_dir`]: configuration
    /// is read at the edge, not here). Starts the change listener that keeps
    /// the response cache honest (needs a Tokio runtime; without one nothing
    /// is cached).
    #[must_use]
    pub fn new(db: Db) -> Self {
        let version = Arc::new(version::DataVersion::default());
        version.track_lsn();
        version::spawn_listener(db.url().to_owned(), &version);
        Self {
            reads: ReadSet::primary_only(db.clone()),
            db,
            hook: None,
            web_dir: Arc::new(PathBuf::from(DEFAULT_WEB_DIR)),
            origin: Arc::new(origin::OriginConfig::default()),
            site_margin_m: funkplan_model::DEFAULT_SITE_MARGIN_M,
            memory_on: true,
            shared: Arc::new(Shared {
                version,
                cache: cache::ResponseCache::default(),
                metrics: metrics::Metrics::default(),
                limiter: auth::AuthLimiter::default(),
                openapi: openapi::document_bytes(),
                memory: Arc::default(),
                figures: Arc::default(),
                tile_encoders: tokio::sync::Semaphore::new(tiles::encoder_slots()),
            }),
        }
    }

    /// Call `hook` after every committed site or measure write.
    #[must_use]
    pub fn with_coverage_hook(mut self, hook: Arc<dyn CoverageHook>) -> Self {
        self.hook = Some(hook);
        self
    }

    /// Refuse site writes more than `metres` outside every loaded
    /// municipality (default [`funkplan_model::DEFAULT_SITE_MARGIN_M`]).
    #[must_use]
    pub fn with_site_margin_m(mut self, metres: f64) -> Self {
        self.site_margin_m = metres;
        self
    }

    /// Answer OGC items of the point collections (sites, measures) from
    /// memory while it holds the current data (default), or always from
    /// SQL (`false`: a few MB less, every read a query).
    #[must_use]
    pub fn with_memory(mut self, on: bool) -> Self {
        self.memory_on = on;
        self
    }

    /// Serve the web app from `dir` (its `index.html` answers client routes).
    #[must_use]
    pub fn with_web_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.web_dir = Arc::new(dir.into());
        self
    }

    /// How the public origin of links is found (default: from `Host`
    /// only, no proxy trusted).
    #[must_use]
    pub fn with_origin(mut self, config: origin::OriginConfig) -> Self {
        self.origin = Arc::new(config);
        self
    }

    pub(crate) fn origin_config(&self) -> &origin::OriginConfig {
        &self.origin
    }

    #[must_use]
    /// The coverage hook, if an engine is wired in.
    pub(crate) fn hook(&self) -> Option<&Arc<dyn CoverageHook>> {
        self.hook.as_ref()
    }

    /// The database to use. Inside a `GET` or `HEAD` request this is the
    /// pool [`replica`] chose for it (a standby in rotation that has the
    /// client's token and the current data version, else the primary);
    /// everywhere else the primary.
    pub fn db(&self) -> &Db {
        match replica::resolve(self) {
            ReadSource::Primary => &self.db,
            standby => self.reads.db(standby),
        }
    }

    /// Read from the standbys of `reads` too (issue 25); its primary must
    /// be the database this state was made with. Starts the checker that
    /// keeps standbys in rotation or out (needs a Tokio runtime).
    #[must_use]
    pub fn with_read_set(mut self, reads: ReadSet) -> Self {
        if reads.standby_count() > 0 {
            reads.spawn_checker();
        }
        self.reads = reads;
        self
    }

    pub(crate) fn reads(&self) -> &ReadSet {
        &self.reads
    }

    pub(crate) fn version(&self) -> &version::DataVersion {
        &self.shared.version
    }

    #[must_use]
    pub fn web_dir(&self) -> &Path {
        &self.web_dir
    }

    /// Forget every cached response. Called after our own writes; a caller
    /// that changes data in-process behind the server's back (tests,
    /// embedded use) may call it too instead of waiting for the database's
    /// change notification.
    pub fn invalidate(&self) {
        self.shared.version.bump();
    }

    /// Wait until changes in the database are being observed (the
    /// response cache is on), at most `timeout`; whether they are.
    pub async fn wait_until_caching(&self, timeout: Duration) -> bool {
        let end = tokio::time::Instant::now() + timeout;
        while self.data_version().is_none() {
            if tokio::time::Instant::now() >= end {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// The version the response cache is keyed by; it changes whenever
    /// data behind the API changes. `None` while changes cannot be observed
    /// (nothing is cached then).
    #[must_use]
    pub fn data_version(&self) -> Option<u64> {
        self.shared.version.current()
    }

    pub(crate) fn cache(&self) -> &cache::ResponseCache {
        &self.shared.cache
    }

    pub(crate) fn metrics(&self) -> &metrics::Metrics {
        &self.shared.metrics
    }

    pub(crate) fn auth_limiter(&self) -> &auth::AuthLimiter {
        &self.shared.limiter
    }

    /// The in-memory collections, when they are on.
    pub(crate) fn memory(&self) -> Option<&Arc<routes::ogc::memory::Memory>> {
        self.memory_on.then_some(&self.shared.memory)
    }

    /// Every municipality's figures held in memory, when memory is on.
    pub(crate) fn figures_memory(
        &self,
    ) -> Option<&Arc<reload::Reloading<std::collections::HashMap<String, String>>>> {
        self.memory_on.then_some(&self.shared.figures)
    }

    /// Load the collections served from memory now, at the current data
    /// version, instead of on the first requests that miss (tests).
    ///
    /// # Errors
    /// When no data version is known yet, or the database's error.
    #[doc(hidden)]
    pub async fn load_memory_now(&self) -> ApiResult<()> {
        let version = self
            .data_version()
            .ok_or_else(|| ApiError::Internal("no data version yet".into()))?;
        self.shared.memory.load_now(&self.db, version).await?;
        let figures = routes::figures::load_all(self.db.clone()).await?;
        self.shared.figures.put(version, figures);
        Ok(())
    }

    /// The data version of the municipality figures held in memory (tests).
    #[doc(hidden)]
    #[must_use]
    pub fn figures_memory_version(&self) -> Option<u64> {
        self.shared.figures.version()
    }

    /// OGC items requests answered from memory so far (tests).
    #[doc(hidden)]
    #[must_use]
    pub fn served_from_memory(&self) -> u64 {
        self.shared.memory.served() + self.shared.figures.served()
    }

    /// The gate coverage tiles wait at for a core.
    pub(crate) fn tile_encoders(&self) -> &tokio::sync::Semaphore {
        &self.shared.tile_encoders
    }

    pub(crate) fn openapi_bytes(&self) -> bytes::Bytes {
        self.shared.openapi.clone()
    }

    /// The common end of every write after its COMMIT (and after the
    /// connection went back to the pool): forget cached answers, let the
    /// coverage hook reflect `change` (its failure is logged, never
    /// returned: the write stands), forget again (the hook rewrote figures,
    /// so whatever was cached meanwhile is older).
    ///
    /// The write's own COMMIT stays synchronous: deferring its WAL flush to
    /// the hook's commit saved ~2 ms a write but let other sessions read a
    /// write not yet on disk and made durability an argument instead of a
    /// default.
    pub(crate) async fn reflect(&self, change: Change) {
        self.invalidate();
        if let Some(h) = &self.hook {
            let (kind, sites) = (change.kind, change.site_ids());
            if let Err(e) = h.changed(change).await {
                tracing::error!(error = %hook::chain(&*e), ?kind, ?sites, "coverage update after a write failed; figures may lag until the next recompute");
            }
        }
        self.invalidate();
    }
}

/// The complete application.
pub fn router(state: AppState) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    routes::build(state.clone())
        .layer(axum::middleware::from_fn_with_state(state.clone(), replica::layer))
        .layer(axum::middleware::from_fn(ogc_html::layer))
        .layer(axum::middleware::from_fn_with_state(state, origin::attach))
        .layer(axum::middleware::from_fn(http::conditional))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(CompressionLayer::new().gzip(true).br(true))
        .layer(axum::middleware::from_fn(http::read_timeout))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(http::problems))
        .layer(
            CorsLayer::new()
                .allow_origin(tower_http::cors::Any)
                .allow_methods([Method::GET, Method::HEAD, Method::OPTIONS])
                .allow_headers([header::IF_NONE_MATCH, header::ACCEPT, header::CONTENT_TYPE, HeaderName::from_static(replica::CONSISTENCY)])
                .expose_headers([
                    header::ETAG,
                    HeaderName::from_static("content-crs"),
                    x_request_id.clone(),
                    HeaderName::from_static(replica::CONSISTENCY),
                    HeaderName::from_static(replica::READ_SOURCE),
                ]),
        )
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            tracing::info_span!("request", method = %req.method(), uri = %req.uri().path(), route = tracing::field::Empty, request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
}

/// The answer when a handler or inner layer panicked: 500 problem+json like
/// any internal error (the panic's message goes to the log only), instead
/// of a dropped connection. The server keeps running either way; this keeps
/// the client's answer in the API's shape.
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let msg = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    axum::response::IntoResponse::into_response(ApiError::Internal(format!("handler panicked: {msg}")))
}

/// Errors that stop the server from starting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("server failed: {0}")]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    /// A panicking handler answers 500 problem+json through the layer
    /// [`router`] installs (without it, the panic would reach the caller).
    #[tokio::test]
    async fn a_panicking_handler_answers_500_problem_json() {
        async fn boom() -> &'static str {
            panic!("row column 7 is missing")
        }
        let app = Router::new()
            .route("/boom", get(boom))
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(axum::middleware::from_fn(http::problems));
        let resp = app.oneshot(Request::get("/boom").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/problem+json");
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16).await.unwrap();
        let p: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(p["status"], 500);
        let detail = p["detail"].as_str().unwrap();
        assert!(!detail.contains("column 7"), "the panic's text stays in the log: {detail}");
    }
}
