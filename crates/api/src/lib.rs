//! The HTTP face of Funkplan NRW (DESIGN §7).
//!
//! [`router`] builds the whole application; `main` only binds a socket and
//! calls [`serve`]. Tests drive the router with `tower::ServiceExt::oneshot`.

mod error;
mod routes;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use funkplan_db::Db;
use tower_http::trace::TraceLayer;

pub use error::{ApiError, ApiResult, Problem};

/// Shared state of all handlers; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
}

impl AppState {
    #[must_use]
    pub fn new(db: Db) -> Self {
        Self { inner: Arc::new(Inner { db }) }
    }

    #[must_use]
    pub fn db(&self) -> &Db {
        &self.inner.db
    }
}

/// The complete application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(routes::health::router())
        .merge(routes::targets::router())
        .with_state(state)
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let route = req
                .extensions()
                .get::<axum::extract::MatchedPath>()
                .map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
            tracing::info_span!("request", method = %req.method(), route = %route)
        }))
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

/// Bind `addr`; done before any database work so that "port in use" is the
/// first thing said, not the last.
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, ServeError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })
}

/// Serve until SIGINT or SIGTERM, then finish in-flight requests and return.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> Result<(), ServeError> {
    let local = listener.local_addr()?;
    tracing::info!(addr = %local, "listening on http://{local}");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("server stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received; finishing open requests");
}
