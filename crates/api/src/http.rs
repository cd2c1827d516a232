//! Cross-cutting HTTP behaviour: conditional GET, problem+json for every
//! error whoever produced it, and extractors whose rejections are problems.

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;

use crate::ApiError;

/// Largest response body hashed for an ETag when the handler gave none.
const MAX_HASHED: u64 = 64 << 20;

/// Whether `If-None-Match` / `If-Match` value `list` names `etag` (weak
/// comparison: `W/` prefixes are ignored, `*` matches anything).
#[must_use]
pub fn etag_matches(list: &str, etag: &str) -> bool {
    let bare = |s: &str| s.trim().trim_start_matches("W/").to_owned();
    let want = bare(etag);
    list.split(',').any(|t| {
        let t = t.trim();
        t == "*" || bare(t) == want
    })
}

/// ETag on every successful GET (hashing the body when the handler set
/// none), `If-None-Match` → 304, and a default `Cache-Control` that makes
/// clients revalidate (cheap thanks to the ETag).
pub(crate) async fn conditional(req: Request, next: Next) -> Response {
    let is_get = req.method() == Method::GET || req.method() == Method::HEAD;
    let inm = req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let resp = next.run(req).await;
    if !is_get || resp.status() != StatusCode::OK {
        return resp;
    }
    let mut resp = if resp.headers().contains_key(header::ETAG) {
        resp
    } else {
        let small = axum::body::HttpBody::size_hint(resp.body()).upper().is_some_and(|n| n <= MAX_HASHED);
        if !small || resp.headers().contains_key(header::CONTENT_ENCODING) {
            return resp;
        }
        let (mut parts, body) = resp.into_parts();
        let Ok(bytes) = body.collect().await.map(http_body_util::Collected::to_bytes) else {
            return ApiError::Internal("reading a response body".into()).into_response();
        };
        parts.headers.insert(header::ETAG, crate::cache::etag_of(&bytes));
        Response::from_parts(parts, Body::from(bytes))
    };
    if !resp.headers().contains_key(header::CACHE_CONTROL) {
        resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, no-cache"));
    }
    if let (Some(inm), Some(etag)) = (inm, resp.headers().get(header::ETAG).and_then(|v| v.to_str().ok())) {
        if etag_matches(&inm, etag) {
            let mut not_modified = Response::new(Body::empty());
            *not_modified.status_mut() = StatusCode::NOT_MODIFIED;
            for h in [header::ETAG, header::CACHE_CONTROL, header::VARY, header::CONTENT_LOCATION] {
                if let Some(v) = resp.headers().get(&h) {
                    not_modified.headers_mut().insert(h, v.clone());
                }
            }
            return not_modified;
        }
    }
    resp
}

/// How long a read may take before it is answered 408.
pub(crate) const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Reads are stopped after [`READ_TIMEOUT`] (408). Writes are not: a write
/// stopped after its COMMIT (while the coverage hook runs) would be
/// answered as failed although it happened, and a client retrying it would
/// write twice (the load test of issue 8 caught this, B11). A write's waits
/// are bounded inside instead: the pool's wait for a connection, short row
/// locks, the hook's own errors are logged, not returned.
pub(crate) async fn read_timeout(req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    match tokio::time::timeout(READ_TIMEOUT, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::RequestTimeout("the request took too long and was stopped".into()).into_response(),
    }
}

/// Turn any error response that is not already problem+json (axum's 405,
/// tower-http's 413 and 408, a panic's 500) into one.
///
/// It also refuses a URL carrying an encoded NUL (`%00`) up front: no id,
/// name or filter can hold one (PostgreSQL text cannot), and catching it
/// here is one rule for every route instead of a check in each.
pub(crate) async fn problems(req: Request, next: Next) -> Response {
    if req.uri().path_and_query().is_some_and(|pq| pq.as_str().contains("%00")) {
        return crate::ApiError::BadRequest(
            "the URL contains a NUL character (%00), which no identifier or parameter may hold".into(),
        )
        .into_response();
    }
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_problem = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/problem+json"));
    if is_problem {
        return resp;
    }
    let allow = resp.headers().get(header::ALLOW).cloned();
    let detail = match status {
        // axum adds the Allow header outside of all layers.
        StatusCode::METHOD_NOT_ALLOWED => format!("method {method} is not allowed on {path}; the Allow header lists those that are"),
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is larger than the limit of 1 MiB".to_owned(),
        StatusCode::REQUEST_TIMEOUT => "the request took too long and was stopped".to_owned(),
        StatusCode::NOT_FOUND => "no such resource".to_owned(),
        s if s.is_server_error() => "internal error".to_owned(),
        s => s.canonical_reason().unwrap_or("error").to_owned(),
    };
    let mut out = match status {
        s if s.is_server_error() && s != StatusCode::SERVICE_UNAVAILABLE => {
            ApiError::Internal(format!("{s} from an inner layer")).into_response()
        }
        s => ApiError::from_status(s, detail).into_response(),
    };
    if let Some(a) = allow {
        out.headers_mut().insert(header::ALLOW, a);
    }
    out
}

/// `axum::Json` whose rejections are problem+json (400 bad syntax, 413 too
/// large, 415 wrong content type, 422 wrong fields).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(r) => Err(ApiError::from_status(r.status(), r.body_text())),
        }
    }
}

/// `axum::extract::Path` whose rejections are problem+json (400).
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Self(v)),
            Err(r) => Err(ApiError::BadRequest(r.body_text())),
        }
    }
}

/// The query string as ordered pairs, for endpoints that must reject
/// unknown or repeated parameters (OGC API) rather than ignore them.
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        Ok(Self(form_urlencoded::parse(q.as_bytes()).into_owned().collect()))
    }
}

impl QueryPairs {
    /// Fail with 400 on any parameter not in `known` (or matched by
    /// `also`), or given twice.
    pub fn check(&self, known: &[&str], also: impl Fn(&str) -> bool) -> Result<(), ApiError> {
        let mut seen = std::collections::HashSet::new();
        for (k, _) in &self.0 {
            if !known.contains(&k.as_str()) && !also(k) {
                return Err(ApiError::BadRequest(format!(
                    "unknown query parameter '{k}'; allowed: {}",
                    known.join(", ")
                )));
            }
            if !seen.insert(k.as_str()) {
                return Err(ApiError::BadRequest(format!("query parameter '{k}' given more than once")));
            }
        }
        Ok(())
    }

    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// An optional integer parameter within `min..=max` (`clamp`: larger
    /// values are cut to `max` instead of refused).
    pub fn int(&self, key: &str, default: i64, min: i64, max: i64, clamp: bool) -> Result<i64, ApiError> {
        let Some(v) = self.get(key) else { return Ok(default) };
        let n: i64 = v
            .trim()
            .parse()
            .map_err(|_| ApiError::BadRequest(format!("parameter '{key}' must be an integer, got '{v}'")))?;
        if n < min || (n > max && !clamp) {
            return Err(ApiError::BadRequest(format!("parameter '{key}' must be between {min} and {max}, got {n}")));
        }
        Ok(n.min(max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_compare_weakly() {
        assert!(etag_matches("\"3\"", "\"3\""));
        assert!(etag_matches("W/\"3\"", "\"3\""));
        assert!(etag_matches("\"1\", \"3\"", "W/\"3\""));
        assert!(etag_matches("*", "\"9\""));
        assert!(!etag_matches("\"2\"", "\"3\""));
    }
}
