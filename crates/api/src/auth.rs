//! API tokens and the caller of a write.
//!
//! A token is `fp_` + 64 hex digits of 256 random bits. Only its SHA-256 is
//! stored (`api_token.token_hash`, unique index); a presented token is
//! hashed and looked up by that hash. The secret is therefore never compared
//! in variable time, and timing of the index lookup can at most reveal
//! prefixes of a hash, which does not help to forge a token (a preimage of
//! SHA-256 would be needed). A fast hash is enough because the secrets have
//! full entropy; there is nothing to brute-force that stretching would slow.
//! No secret material is compared in Rust at all (checked for issue 8's
//! "compared in constant time"): the only string tests on the header are
//! for the public `Bearer ` scheme, and the equality of hashes is decided by
//! PostgreSQL's index lookup, so a constant-time compare (`subtle`) would
//! have nothing to guard.
//!
//! Failed attempts are rate-limited per client address (a token bucket in
//! memory), so guessing is throttled even though it is hopeless anyway.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use funkplan_db::{Db, Error as DbError};
use funkplan_model::Role;
use sha2::{Digest, Sha256};

use crate::origin::Origin;
use crate::{ApiError, AppState};

const PREFIX: &str = "fp_";

/// SHA-256 of a token's text.
#[must_use]
pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.trim().as_bytes()).into()
}

/// A freshly created token: the secret is only ever in this value.
#[derive(Debug)]
pub struct NewToken {
    pub id: i64,
    pub role: Role,
    pub token: String,
}

/// A stored token as listed (never the secret).
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub role: String,
    pub label: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Create a token for `role` and store its hash.
pub async fn create_token(db: &Db, role: &Role, label: Option<&str>) -> Result<NewToken, DbError> {
    let bytes: [u8; 32] = rand::random();
    let token = format!("{PREFIX}{}", hex::encode(bytes));
    let hash = hash_token(&token);
    let c = db.conn().await?;
    let id = c
        .query_one(include_str!("../sql/token_insert.sql"), &[&&hash[..], &role.to_string(), &label])
        .await
        .and_then(|r| r.try_get("id"))
        .map_err(DbError::pg("storing the new token"))?;
    Ok(NewToken { id, role: *role, token })
}

/// Revoke a token given by its id or its secret; `None` if no such token.
pub async fn revoke_token(db: &Db, id_or_token: &str) -> Result<Option<i64>, DbError> {
    let id: i64 = id_or_token.trim().parse().unwrap_or(-1);
    let hash = hash_token(id_or_token);
    let c = db.conn().await?;
    let row = c
        .query_opt(include_str!("../sql/token_revoke.sql"), &[&id, &&hash[..]])
        .await
        .map_err(DbError::pg("revoking the token"))?;
    row.map(|r| r.try_get("id")).transpose().map_err(DbError::pg("revoking the token"))
}

/// All tokens, revoked ones included.
pub async fn list_tokens(db: &Db) -> Result<Vec<TokenInfo>, DbError> {
    let c = db.conn().await?;
    let rows = c
        .query(include_str!("../sql/token_list.sql"), &[])
        .await
        .map_err(DbError::pg("listing tokens"))?;
    rows.iter()
        .map(|r| {
            Ok(TokenInfo {
                id: r.try_get("id")?,
                role: r.try_get("role")?,
                label: r.try_get("label")?,
                created_at: r.try_get("created_at")?,
                revoked_at: r.try_get("revoked_at")?,
            })
        })
        .collect::<Result<_, tokio_postgres::Error>>()
        .map_err(DbError::pg("listing tokens"))
}

/// The caller behind a token, if it is valid and not revoked.
pub async fn verify_token(db: &Db, token: &str) -> Result<Option<Caller>, DbError> {
    let hash = hash_token(token);
    let c = db.conn().await?;
    let stmt = c
        .prepare_cached(include_str!("../sql/token_verify.sql"))
        .await
        .map_err(DbError::pg("preparing the token lookup"))?;
    let row = c.query_opt(&stmt, &[&&hash[..]]).await.map_err(DbError::pg("looking up the token"))?;
    let Some(r) = row else {
        return Ok(None);
    };
    let read = |r: &tokio_postgres::Row| -> Result<(i64, String), tokio_postgres::Error> { Ok((r.try_get("id")?, r.try_get("role")?)) };
    let (token_id, role) = read(&r).map_err(DbError::pg("looking up the token"))?;
    // The table's CHECK admits only parseable roles.
    Ok(role.parse().ok().map(|role| Caller { token_id, role }))
}

/// Who is writing: an authenticated token and its role.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token_id: i64,
    pub role: Role,
}

impl Caller {
    /// The audit log's `actor`.
    #[must_use]
    pub fn actor(&self) -> String {
        format!("token:{} ({})", self.token_id, self.role)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    /// Throttle first, then the database: an address that used up its
    /// failed attempts is answered 429 without a token lookup (issue 20:
    /// each throttled request used to cost one). Behind a trusted proxy the
    /// address is the forwarded client's ([`crate::origin`]). A token that
    /// was valid recently is still looked up from a throttled address, so
    /// someone else's bad attempts from a shared address never lock a
    /// working token out (B7), and revocation still takes effect at once.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(ApiError::Unauthorized("this request needs 'Authorization: Bearer <token>'".into()));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        let ip = Origin::from_request_parts(parts, state).await?.client();
        let limiter = state.auth_limiter();
        let hash = token.as_deref().map(hash_token);
        if !limiter.allowed(ip) && !hash.is_some_and(|h| limiter.recently_valid(&h)) {
            state.metrics().auth_throttled();
            limiter.log_failure(ip, "throttled");
            return Err(ApiError::TooManyRequests(
                "too many failed authentication attempts from this address; wait a minute".into(),
            ));
        }
        let refuse = |reason: &str| {
            limiter.failed(ip);
            state.metrics().auth_failed();
            limiter.log_failure(ip, reason);
            ApiError::Unauthorized(reason.to_owned())
        };
        let (Some(token), Some(hash)) = (token, hash) else {
            return Err(refuse("the Authorization header must be 'Bearer <token>'"));
        };
        state.metrics().auth_lookup();
        match verify_token(state.db(), &token).await? {
            Some(c) => {
                limiter.valid(hash);
                Ok(c)
            }
            None => Err(refuse("the token is unknown or revoked")),
        }
    }
}

/// Per-address token bucket for failed authentications: `BURST` failures at
/// once, then one more every `REFILL_SECS`.
#[derive(Default)]
pub(crate) struct AuthLimiter {
    buckets: Mutex<HashMap<Option<IpAddr>, (f64, Instant)>>,
    log: Mutex<LogWindow>,
    /// Hashes of tokens that verified within [`VALID_MEMORY_SECS`]: these
    /// pass the throttle (and are then looked up as usual).
    recent: Mutex<HashMap<[u8; 32], Instant>>,
}

const VALID_MEMORY_SECS: u64 = 3600;
const MAX_REMEMBERED: usize = 10_000;

/// Failed authentications are logged at most once per [`LOG_EVERY_SECS`],
/// with the number since the last line: a flood of bad tokens must not
/// become a flood of log lines (issue 20 counted 52 lines for 52 requests).
#[derive(Default)]
struct LogWindow {
    last: Option<Instant>,
    suppressed: u64,
}

const LOG_EVERY_SECS: f64 = 10.0;

const BURST: f64 = 20.0;
const REFILL_SECS: f64 = 3.0;

impl AuthLimiter {
    fn level(entry: (f64, Instant), now: Instant) -> f64 {
        (entry.0 + now.duration_since(entry.1).as_secs_f64() / REFILL_SECS).min(BURST)
    }

    /// Whether this address may try (again).
    fn allowed(&self, ip: Option<IpAddr>) -> bool {
        let Ok(m) = self.buckets.lock() else { return true };
        m.get(&ip).is_none_or(|e| Self::level(*e, Instant::now()) >= 1.0)
    }

    /// Log a failed or throttled attempt, rate-limited; whether a line was
    /// written.
    fn log_failure(&self, ip: Option<IpAddr>, reason: &str) -> bool {
        let Ok(mut w) = self.log.lock() else { return false };
        let now = Instant::now();
        if w.last.is_some_and(|t| now.duration_since(t).as_secs_f64() < LOG_EVERY_SECS) {
            w.suppressed += 1;
            return false;
        }
        let earlier = std::mem::take(&mut w.suppressed);
        w.last = Some(now);
        drop(w);
        tracing::warn!(client = ?ip, reason, earlier_failures_not_logged = earlier, "authentication failed");
        true
    }

    /// A token with this hash verified recently.
    fn recently_valid(&self, hash: &[u8; 32]) -> bool {
        let Ok(m) = self.recent.lock() else { return false };
        m.get(hash).is_some_and(|t| t.elapsed().as_secs() < VALID_MEMORY_SECS)
    }

    /// Remember a token that just verified.
    fn valid(&self, hash: [u8; 32]) {
        let Ok(mut m) = self.recent.lock() else { return };
        if m.len() >= MAX_REMEMBERED {
            m.retain(|_, t| t.elapsed().as_secs() < VALID_MEMORY_SECS);
            if m.len() >= MAX_REMEMBERED {
                m.clear();
            }
        }
        m.insert(hash, Instant::now());
    }

    /// Record a failed attempt.
    fn failed(&self, ip: Option<IpAddr>) {
        let Ok(mut m) = self.buckets.lock() else { return };
        let now = Instant::now();
        if m.len() > 100_000 {
            m.retain(|_, e| Self::level(*e, now) < BURST);
        }
        let level = m.get(&ip).map_or(BURST, |e| Self::level(*e, now));
        m.insert(ip, ((level - 1.0).max(0.0), now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_empties_after_burst_and_is_per_address() {
        let l = AuthLimiter::default();
        let a = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..20 {
            assert!(l.allowed(a));
            l.failed(a);
        }
        assert!(!l.allowed(a));
        assert!(l.allowed(Some(IpAddr::from([10, 0, 0, 2]))));
    }

    #[test]
    fn failures_are_logged_at_most_once_per_window() {
        let l = AuthLimiter::default();
        let a = Some(IpAddr::from([10, 0, 0, 1]));
        let lines = (0..52).filter(|_| l.log_failure(a, "test")).count();
        assert_eq!(lines, 1);
        assert_eq!(l.log.lock().unwrap().suppressed, 51);
    }

    #[test]
    fn hash_is_sha256_of_the_text() {
        assert_eq!(
            hex::encode(hash_token("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
