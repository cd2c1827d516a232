//! The accept loop: bounded connections, bounded waits for slow clients.
//!
//! `axum::serve` has no limit on connections and no timer for hyper's
//! header-read timeout, so 20,000 clients that each send half a request
//! held a socket each until the process ran out of file descriptors;
//! `accept` then failed every second and real clients timed out (issue 20).
//! This loop is `axum::serve` with three additions:
//!
//! - **Header-read timeout** ([`ServeOptions::header_timeout`]): a request
//!   head not complete within it closes the connection. hyper starts the
//!   same timer when a kept-alive connection waits for its next request, so
//!   it is also the idle keep-alive timeout.
//! - **Body timeout** ([`ServeOptions::body_timeout`], a router layer): a
//!   request body that stalls longer than that between two chunks ends in 408.
//! - **Connection limit** ([`ServeOptions::max_connections`]): past it, up
//!   to [`OVERFLOW`] more connections are still read, briefly
//!   ([`OVERFLOW_HEADER_TIMEOUT`]) and without keep-alive: `/healthz` is
//!   answered as usual (so a load balancer does not take a busy node out),
//!   everything else gets 503 problem+json with `Retry-After`. Beyond that a
//!   connection is closed as soon as it is accepted, so `accept` never
//!   stalls on a full descriptor table.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::{router, AppState, ServeError};

/// Connections above the limit that are still read to answer 503 or
/// `/healthz`.
pub const OVERFLOW: usize = 256;
/// How long an over-the-limit connection may take to send its request head.
pub const OVERFLOW_HEADER_TIMEOUT: Duration = Duration::from_secs(2);
/// Descriptors kept free for the database pool, the engine's connection,
/// files and the over-the-limit connections' own sockets.
const RESERVED_FDS: usize = 128;

/// Limits of the accept loop (flags of `funkplan serve`).
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// Connections served at once.
    pub max_connections: usize,
    /// Time for a request head, and for the next one on a kept-alive
    /// connection.
    pub header_timeout: Duration,
    /// Longest pause within a request body.
    pub body_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self { max_connections: 10_000, header_timeout: Duration::from_secs(10), body_timeout: Duration::from_secs(30) }
    }
}

impl ServeOptions {
    /// The limit lowered to what the process's descriptor limit can hold
    /// (`RLIMIT_NOFILE` as `/proc/self/limits` tells; unchanged where it
    /// cannot be read), so that the limit, not the kernel, says no.
    #[must_use]
    pub fn fitted_to_fd_limit(mut self) -> Self {
        if let Some(limit) = open_files_limit() {
            let fit = limit.saturating_sub(OVERFLOW + RESERVED_FDS).max(16);
            if self.max_connections > fit {
                tracing::warn!(
                    asked = self.max_connections,
                    allowed = fit,
                    open_files_limit = limit,
                    "connection limit lowered to fit the open-files limit (raise it with `ulimit -n`)"
                );
                self.max_connections = fit;
            }
        }
        self
    }
}

/// The soft limit of open files of this process.
fn open_files_limit() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Bind `addr`; done before any database work so that "port in use" is the
/// first thing said, not the last.
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, ServeError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })
}

/// Serve until SIGINT or SIGTERM, then finish in-flight requests (at most
/// 30 s) and return.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState, opts: ServeOptions) -> Result<(), ServeError> {
    let local = listener.local_addr()?;
    tracing::info!(addr = %local, max_connections = opts.max_connections, "listening on http://{local}");
    let app = router(state.clone()).layer(tower_http::timeout::RequestBodyTimeoutLayer::new(opts.body_timeout));
    let slots = Arc::new(Semaphore::new(opts.max_connections));
    let overflow = Arc::new(Semaphore::new(OVERFLOW));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown_signal());
    let mut accept_errors = 0_u64;
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // EMFILE and friends: the limit above should prevent
                    // them; if they happen anyway, back off briefly instead
                    // of spinning, and say so once in a while.
                    accept_errors += 1;
                    if accept_errors.is_power_of_two() {
                        tracing::warn!(error = %e, count = accept_errors, "accepting a connection failed");
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let (permit, full) = match slots.clone().try_acquire_owned() {
            Ok(p) => (p, false),
            Err(_) => {
                state.metrics().connections_refused.fetch_add(1, Ordering::Relaxed);
                match overflow.clone().try_acquire_owned() {
                    Ok(p) => (p, true),
                    Err(_) => continue, // dropped: closed at once
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let svc = app.clone().map_request(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            req.map(Body::new)
        });
        let mut builder = Builder::new(TokioExecutor::new());
        builder.http2().timer(TokioTimer::new()).keep_alive_interval(Some(opts.header_timeout));
        let io = TokioIo::new(stream);
        let metrics_state = state.clone();
        metrics_state.metrics().connections_open.fetch_add(1, Ordering::Relaxed);
        // The connection, served to its end (boxed: the two kinds differ in type).
        let served: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> = if full {
            builder.http1().timer(TokioTimer::new()).header_read_timeout(OVERFLOW_HEADER_TIMEOUT).keep_alive(false);
            let busy = tower::service_fn(move |req: Request<Incoming>| {
                let svc = svc.clone();
                async move {
                    if req.uri().path() == "/healthz" {
                        svc.oneshot(req).await
                    } else {
                        Ok::<_, Infallible>(busy_response())
                    }
                }
            });
            let conn = graceful.watch(builder.serve_connection(io, TowerToHyperService::new(busy)).into_owned());
            Box::pin(async move {
                let _ = conn.await;
            })
        } else {
            builder.http1().timer(TokioTimer::new()).header_read_timeout(opts.header_timeout);
            let conn = graceful.watch(builder.serve_connection_with_upgrades(io, TowerToHyperService::new(svc)).into_owned());
            Box::pin(async move {
                let _ = conn.await;
            })
        };
        tokio::spawn(async move {
            served.await;
            metrics_state.metrics().connections_open.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("shutdown signal received; finishing open requests");
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(Duration::from_secs(30)) => tracing::warn!("connections still open after 30 s; stopping anyway"),
    }
    tracing::info!("server stopped");
    Ok(())
}

/// 503 for a request over the connection limit. Built here rather than
/// through [`ApiError::Unavailable`], which speaks of the database and logs
/// each time: a flood of these must stay cheap and quiet.
fn busy_response() -> Response {
    let body = crate::Problem {
        type_: "about:blank".into(),
        title: "Service Unavailable".into(),
        status: 503,
        detail: "The server is at its connection limit; try again in a moment.".into(),
    };
    let mut r = (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
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
}
