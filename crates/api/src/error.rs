//! The one place where errors become HTTP responses: RFC 9457
//! `application/problem+json`. Client mistakes say what was wrong; server
//! faults say little to the client and log everything.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error an HTTP handler can return.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    PreconditionRequired(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    RequestTimeout(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("the database is not available right now")]
    Unavailable(String),
    /// 503 for what only the coverage engine of `funkplan serve` can
    /// answer (figures at a date) when it is not there or failed; the
    /// message says which, unlike a database outage's.
    #[error("{0}")]
    EngineUnavailable(String),
    /// The database's disk is full (SQLSTATE 53100). 507 Insufficient
    /// Storage (RFC 4918 §11.5: the server cannot store what the request
    /// needs), not 503 + Retry-After: a full disk does not pass by itself in
    /// a few seconds — an operator must free space — so inviting clients to
    /// retry on a timer would only add load, and the service is not down:
    /// reads keep working. The write was rolled back whole, so the same
    /// request (same If-Match) can be sent again once space is back.
    #[error("the database's disk is full")]
    InsufficientStorage(String),
    #[error("internal error")]
    Internal(String),
}

/// The problem+json body (RFC 9457).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unavailable(_) | Self::EngineUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::InsufficientStorage(_) => StatusCode::INSUFFICIENT_STORAGE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match &self {
            Self::Internal(msg) => {
                tracing::error!(error = %msg, "internal error");
                "The server failed to answer this request; the fault is logged.".to_owned()
            }
            Self::Unavailable(msg) => {
                tracing::warn!(error = %msg, "database unavailable");
                if msg.contains("the database is read-only") {
                    // Reads keep working; say why writes do not.
                    "The database is read-only right now (a standby or maintenance); writes are refused until it is writable again.".to_owned()
                } else {
                    "The database is not available right now; try again shortly.".to_owned()
                }
            }
            Self::InsufficientStorage(msg) => {
                tracing::error!(error = %msg, "database disk full: free or add disk space");
                "The database has no disk space left, so this change was not stored (nothing of it was kept); reads still work. Send it again once an operator has freed disk space.".to_owned()
            }
            other => other.to_string(),
        };
        let body = Problem {
            type_: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail,
        };
        let mut resp = (status, axum::Json(body)).into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        match status {
            StatusCode::SERVICE_UNAVAILABLE => {
                resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            StatusCode::TOO_MANY_REQUESTS => {
                resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
            }
            StatusCode::UNAUTHORIZED => {
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"funkplan\""),
                );
            }
            _ => {}
        }
        resp
    }
}

/// The one mapping from database errors to HTTP: a failed statement by its
/// SQLSTATE (`ApiError::from_pg`), a missing connection 503, a full disk
/// 507, the rest 500.
impl From<funkplan_db::Error> for ApiError {
    fn from(e: funkplan_db::Error) -> Self {
        if let Some((what, source)) = e.postgres() {
            Self::from_pg(what, source)
        } else if e.is_unavailable() {
            Self::Unavailable(e.to_string())
        } else if e.is_disk_full() {
            Self::InsufficientStorage(e.to_string())
        } else {
            Self::Internal(e.to_string())
        }
    }
}

impl From<funkplan_targets::Error> for ApiError {
    fn from(e: funkplan_targets::Error) -> Self {
        match e {
            funkplan_targets::Error::Db(d) => d.into(),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl ApiError {
    /// The error for a status an inner layer or extractor produced, with its
    /// own explanation.
    #[must_use]
    pub fn from_status(status: StatusCode, detail: String) -> Self {
        match status {
            StatusCode::NOT_FOUND => Self::NotFound(detail),
            StatusCode::UNAUTHORIZED => Self::Unauthorized(detail),
            StatusCode::FORBIDDEN => Self::Forbidden(detail),
            StatusCode::CONFLICT => Self::Conflict(detail),
            StatusCode::PRECONDITION_FAILED => Self::PreconditionFailed(detail),
            StatusCode::PRECONDITION_REQUIRED => Self::PreconditionRequired(detail),
            StatusCode::UNPROCESSABLE_ENTITY => Self::Unprocessable(detail),
            StatusCode::TOO_MANY_REQUESTS => Self::TooManyRequests(detail),
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge(detail),
            StatusCode::REQUEST_TIMEOUT => Self::RequestTimeout(detail),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::UnsupportedMediaType(detail),
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed(detail),
            StatusCode::SERVICE_UNAVAILABLE => Self::Unavailable(detail),
            StatusCode::INSUFFICIENT_STORAGE => Self::InsufficientStorage(detail),
            s if s.is_client_error() => Self::BadRequest(detail),
            _ => Self::Internal(detail),
        }
    }

    /// Map a Postgres error: constraint violations are the client's mistake
    /// (409 for a duplicate id, 422 for a broken rule or an unknown
    /// reference), a lost connection is 503, a full disk 507, the rest is
    /// ours. Reached only through `From<funkplan_db::Error>`: call sites
    /// wrap with `funkplan_db::Error::pg(what)` and use `?`.
    ///
    /// A 4xx says what was wrong in the product's words (see
    /// [`constraint_words`]); the database's own text, with its table and
    /// constraint names, goes to the log only (issue 20, finding 7).
    fn from_pg(what: &'static str, e: &tokio_postgres::Error) -> Self {
        use tokio_postgres::error::SqlState;
        let detail = funkplan_db::pg_detail(e);
        let constraint = e.as_db_error().and_then(|d| d.constraint());
        let client = |fallback: &str| {
            tracing::debug!(error = %detail, what, "write refused by the database");
            let words = constraint_words(constraint).unwrap_or(fallback);
            format!("{what}: {words}")
        };
        match e.code() {
            Some(c) if *c == SqlState::UNIQUE_VIOLATION => Self::Conflict(client("one with the same id exists already")),
            Some(c)
                if *c == SqlState::FOREIGN_KEY_VIOLATION
                    || *c == SqlState::CHECK_VIOLATION
                    || *c == SqlState::NOT_NULL_VIOLATION
                    || *c == SqlState::INVALID_TEXT_REPRESENTATION
                    || *c == SqlState::STRING_DATA_RIGHT_TRUNCATION =>
            {
                Self::Unprocessable(client("a value breaks a rule of the data (see the API documentation of this field)"))
            }
            Some(c) if *c == SqlState::DATETIME_FIELD_OVERFLOW => {
                Self::Unprocessable(client("a date lies outside the range that can be stored"))
            }
            Some(c) if *c == SqlState::CHARACTER_NOT_IN_REPERTOIRE || *c == SqlState::UNTRANSLATABLE_CHARACTER => {
                Self::Unprocessable(client("text must be valid UTF-8 without NUL characters"))
            }
            Some(c) if *c == SqlState::READ_ONLY_SQL_TRANSACTION => {
                Self::Unavailable(format!("{what}: the database is read-only ({detail})"))
            }
            Some(c) if *c == SqlState::DISK_FULL => Self::InsufficientStorage(format!("{what}: the database's disk is full ({detail})")),
            Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED => {
                Self::Unavailable(format!("{what}: {detail}"))
            }
            None if e.is_closed() => Self::Unavailable(format!("{what}: {detail}")),
            _ => Self::Internal(format!("{what}: {detail}")),
        }
    }
}

/// The schema's constraints on sites and measures (migrations/V1) in the
/// product's words; `None` for one not listed here (the caller then says
/// something general). The handlers check these rules before writing, so
/// these are the last line, for a rule the edge missed or a race.
fn constraint_words(constraint: Option<&str>) -> Option<&'static str> {
    Some(match constraint? {
        "site_pkey" => "a site with this site_id exists already",
        "measure_pkey" => "a measure with this measure_id exists already",
        "site_site_id_check" => "site_id must be 1-64 characters of A-Z a-z 0-9 . _ : -",
        "measure_measure_id_check" => "measure_id must be 1-64 characters of A-Z a-z 0-9 . _ : -",
        "site_operator_id_fkey" => "unknown operator",
        "measure_site_id_fkey" => "the measure's site does not exist",
        "site_status_check" => "not a site status",
        "site_technologies_check" => "technologies must be lte and/or 5g",
        "measure_kind_check" => "not a measure kind",
        "measure_status_check" => "not a measure status",
        "measure_check" => "a completed measure needs a completed_date, and only a completed one has one",
        _ => return None,
    })
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_disk_is_507_problem_json_without_server_paths() {
        let db = funkplan_db::Error::DiskFull {
            what: "updating a site",
            detail: "could not extend file \"pg_tblspc/1/2/3\": No space left on device; hint: Check free disk space.".into(),
        };
        let e = ApiError::from(db);
        assert!(matches!(e, ApiError::InsufficientStorage(_)), "{e:?}");
        let resp = e.into_response();
        assert_eq!(resp.status(), StatusCode::INSUFFICIENT_STORAGE);
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/problem+json");
        assert!(resp.headers().get(header::RETRY_AFTER).is_none(), "not a timed outage");
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16).await.unwrap();
        let p: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(p["status"], 507);
        assert_eq!(p["title"], "Insufficient Storage");
        let detail = p["detail"].as_str().unwrap();
        assert!(detail.contains("no disk space left") && detail.contains("not stored"), "{detail}");
        assert!(!detail.contains("pg_tblspc"), "server paths stay in the log: {detail}");
        // Other database errors keep their statuses.
        assert_eq!(ApiError::from(funkplan_db::Error::Pool("x".into())).status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(ApiError::from_status(StatusCode::INSUFFICIENT_STORAGE, "x".into()).status(), StatusCode::INSUFFICIENT_STORAGE);
    }
}
