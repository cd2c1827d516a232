//! The web app (README.md) at `/`: files from the built app directory, its
//! `index.html` for client-side routes, and a German notice when the app has
//! not been built.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::{ApiError, AppState};

const NOT_BUILT: &str = r#"<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>Funkplan NRW</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>Funkplan NRW</h1>
<p>Die Web-Anwendung ist noch nicht gebaut. Die Schnittstellen stehen trotzdem bereit:</p>
<ul>
<li><a href="/api/v1/targets">/api/v1/targets</a> – Ziele und Fortschritt</li>
<li><a href="/ogc">/ogc</a> – OGC API – Features</li>
<li><a href="/api/openapi.json">/api/openapi.json</a> – API-Beschreibung</li>
</ul>
</body></html>
"#;

/// Anything no API route matched.
pub(crate) async fn fallback(State(state): State<AppState>, req: Request) -> Response {
    let path = req.uri().path();
    // `/ogc/`, `/ogc/collections/`: clients that add a slash (OWSLib's
    // `api()`, hand-typed URLs) are sent to the one canonical URL of the
    // resource, query kept (308 keeps the method).
    let api = path.starts_with("/api/") || path.starts_with("/ogc/") || path.starts_with("/tiles/");
    if api && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/');
        let to = match req.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_owned(),
        };
        if let Ok(v) = HeaderValue::from_str(&to) {
            return (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, v)]).into_response();
        }
    }
    if path.starts_with("/api/") || path == "/api" || path.starts_with("/ogc/") || path == "/metrics" {
        return ApiError::NotFound(format!("no resource at {path}")).into_response();
    }
    // A release server never hands out source maps, even from a web
    // directory built for development: they are the app's sources.
    if !cfg!(debug_assertions) && path.ends_with(".map") {
        return ApiError::NotFound(format!("no resource at {path}")).into_response();
    }
    let dir = state.web_dir().to_owned();
    let index = dir.join("index.html");
    if !index.is_file() {
        if req.method() != axum::http::Method::GET && req.method() != axum::http::Method::HEAD {
            return ApiError::MethodNotAllowed("only GET is served here".into()).into_response();
        }
        let mut r = (StatusCode::OK, Html(NOT_BUILT)).into_response();
        r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        return r;
    }
    let immutable = path.starts_with("/assets/");
    let svc = ServeDir::new(&dir).fallback(ServeFile::new(index));
    match svc.oneshot(req).await {
        Ok(resp) => {
            let mut resp = resp.map(Body::new);
            let cc = if immutable { "public, max-age=31536000, immutable" } else { "public, no-cache" };
            resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(cc));
            resp
        }
        Err(e) => ApiError::Internal(format!("serving the web app: {e}")).into_response(),
    }
}
