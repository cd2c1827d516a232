//! Reads on hot standbys (issue 25): a [`ReadSet`] holds the primary's pool
//! and one pool per standby, and picks where a read goes.
//!
//! Why this shape: PostgreSQL's own streaming replication already does the
//! hard part (a standby replays the primary's WAL in commit order), so
//! nothing here is clustering. What is left is choosing a pool per read:
//!
//! - **Rotation.** Reads go to the standbys in turn. A checker task asks
//!   every standby for its replayed WAL position
//!   (`pg_last_wal_replay_lsn()`) and the primary for its current one
//!   (`pg_current_wal_lsn()`) every [`ReplicaOptions::check_every`]; a
//!   standby that does not answer, or whose replay has been behind the
//!   primary's WAL for longer than [`ReplicaOptions::max_lag`], is out of
//!   rotation until a later check finds it answering and caught up again.
//!   The lag is measured against the checker's own history of the primary's
//!   positions, not with `now() - pg_last_xact_replay_timestamp()`: that
//!   grows without bound on an idle primary (no transaction to replay), and
//!   would take a perfectly current standby out after every quiet minute.
//!   The replay timestamp's age is still reported, for people.
//! - **A position to be at.** A read may demand a WAL position ([`Lsn`]):
//!   the consistency token of a client's own write, or the position the
//!   primary had when the server last learnt of a change (so that the
//!   response cache never stores an older answer under a newer data
//!   version). A standby serves it only once it has replayed that far; its
//!   last known position is kept, and asked afresh (one round trip) when it
//!   is not far enough yet, else the read goes to the primary.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::{pg_detail, redact, Db};

/// A position in PostgreSQL's write-ahead log (`pg_lsn`), written as two
/// hexadecimal halves, `0/3000060`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

/// Why a text is not a WAL position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a WAL position: expected two hexadecimal numbers of at most 8 digits separated by '/', e.g. 0/3000060")]
pub struct LsnError {
    /// The text given (at most 40 characters of it).
    pub text: String,
}

impl FromStr for Lsn {
    type Err = LsnError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || LsnError { text: s.chars().take(40).collect() };
        let (hi, lo) = s.trim().split_once('/').ok_or_else(bad)?;
        let half = |h: &str| {
            if h.is_empty() || h.len() > 8 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                None
            } else {
                u32::from_str_radix(h, 16).ok()
            }
        };
        let (hi, lo) = (half(hi).ok_or_else(bad)?, half(lo).ok_or_else(bad)?);
        Ok(Self((u64::from(hi) << 32) | u64::from(lo)))
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// Settings of the standbys (`FUNKPLAN_MAX_REPLICA_LAG`).
#[derive(Debug, Clone, Copy)]
pub struct ReplicaOptions {
    /// A standby behind the primary for longer than this is out of rotation.
    pub max_lag: Duration,
    /// How often the checker asks.
    pub check_every: Duration,
    /// How long one check may take before the standby counts as down.
    pub check_timeout: Duration,
}

impl Default for ReplicaOptions {
    fn default() -> Self {
        Self { max_lag: Duration::from_secs(5), check_every: Duration::from_millis(250), check_timeout: Duration::from_secs(1) }
    }
}

/// Where a read was answered from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadSource {
    /// The primary (no standby configured, none in rotation, or none far
    /// enough for the position asked).
    Primary,
    /// The standby with this index in `DATABASE_READ_URL`'s order.
    Standby(usize),
}

/// One standby: its pool and what the checker last found.
struct Standby {
    /// `standby-N`, N its place in `DATABASE_READ_URL` from 1 (what health
    /// and metrics say: they are public, the URL's host names need not be).
    name: String,
    /// Its URL, password redacted (for logs).
    url: String,
    db: Db,
    in_rotation: AtomicBool,
    /// Last known replayed position (only grows while it stays a standby).
    replay: AtomicU64,
    /// Milliseconds behind the primary at the last check; `u64::MAX`
    /// unknown.
    lag_ms: AtomicU64,
    /// Age of the last replayed transaction, milliseconds (`u64::MAX`: none).
    replay_age_ms: AtomicU64,
    /// Why it is out of rotation, if it is.
    error: Mutex<Option<String>>,
}

/// What `/healthz` and `/metrics` say about one standby.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StandbyStatus {
    /// `standby-N`, N its place in `DATABASE_READ_URL` from 1.
    pub name: String,
    /// Whether reads go to it.
    pub in_rotation: bool,
    /// How far behind the primary it was at the last check (None: unknown).
    pub lag_seconds: Option<f64>,
    /// Age of the last transaction it replayed (grows on an idle primary).
    pub replay_age_seconds: Option<f64>,
    /// Its replayed WAL position.
    pub replay_lsn: Option<String>,
    /// Why it is out of rotation.
    pub error: Option<String>,
}

struct Inner {
    primary: Db,
    standbys: Vec<Standby>,
    next: AtomicUsize,
    opts: ReplicaOptions,
    /// The primary's positions as the checker saw them, oldest first.
    history: Mutex<VecDeque<(Instant, Lsn)>>,
    primary_up: AtomicBool,
    /// Reads answered by a standby / by the primary.
    standby_reads: AtomicU64,
    primary_reads: AtomicU64,
    /// Reads that wanted a standby but found none far enough.
    fallbacks: AtomicU64,
}

/// The primary and the standbys reads may go to; cheap to clone.
#[derive(Clone)]
pub struct ReadSet {
    inner: Arc<Inner>,
}

impl fmt::Debug for ReadSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadSet")
            .field("primary", &self.inner.primary)
            .field("standbys", &self.inner.standbys.iter().map(|s| s.url.as_str()).collect::<Vec<_>>())
            .finish()
    }
}

const REPLAY_SQL: &str = "SELECT pg_is_in_recovery() AS rec, pg_last_wal_replay_lsn()::text AS replay, \
     (extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::float8 AS age_ms";

impl ReadSet {
    /// Reads from the primary only.
    #[must_use]
    pub fn primary_only(primary: Db) -> Self {
        Self::new(primary, Vec::new(), ReplicaOptions::default())
    }

    /// `standbys` out of rotation until the first check (made at once by
    /// [`ReadSet::spawn_checker`]) finds them answering and caught up; none
    /// needs to be reachable yet (see [`Db::lazy`]), so a standby that is
    /// down does not stop the server from starting.
    #[must_use]
    pub fn new(primary: Db, standbys: Vec<Db>, opts: ReplicaOptions) -> Self {
        let standbys = standbys
            .into_iter()
            .enumerate()
            .map(|(i, db)| Standby {
                name: format!("standby-{}", i + 1),
                url: redact(db.url()),
                db,
                in_rotation: AtomicBool::new(false),
                replay: AtomicU64::new(0),
                lag_ms: AtomicU64::new(u64::MAX),
                replay_age_ms: AtomicU64::new(u64::MAX),
                error: Mutex::new(Some("not checked yet".into())),
            })
            .collect();
        Self {
            inner: Arc::new(Inner {
                primary,
                standbys,
                next: AtomicUsize::new(0),
                opts,
                history: Mutex::new(VecDeque::new()),
                primary_up: AtomicBool::new(true),
                standby_reads: AtomicU64::new(0),
                primary_reads: AtomicU64::new(0),
                fallbacks: AtomicU64::new(0),
            }),
        }
    }

    /// The primary's pool (writes, the engine).
    #[must_use]
    pub fn primary(&self) -> &Db {
        &self.inner.primary
    }

    /// How many standbys are configured.
    #[must_use]
    pub fn standby_count(&self) -> usize {
        self.inner.standbys.len()
    }

    /// The pool of `source`.
    #[must_use]
    pub fn db(&self, source: ReadSource) -> &Db {
        match source {
            ReadSource::Standby(i) if i < self.inner.standbys.len() => &self.inner.standbys[i].db,
            _ => &self.inner.primary,
        }
    }

    /// The name `source` is reported under: `primary` or `standby-N`.
    #[must_use]
    pub fn name(&self, source: ReadSource) -> String {
        match source {
            ReadSource::Standby(i) if i < self.inner.standbys.len() => self.inner.standbys[i].name.clone(),
            _ => "primary".into(),
        }
    }

    /// Whether the standby `i` is in rotation and known to have replayed
    /// up to `min` (no question to the server).
    #[must_use]
    pub fn serves(&self, i: usize, min: Lsn) -> bool {
        self.inner
            .standbys
            .get(i)
            .is_some_and(|s| s.in_rotation.load(Ordering::Acquire) && Lsn(s.replay.load(Ordering::Acquire)) >= min)
    }

    /// The next standby in rotation that has replayed up to `min`
    /// (asking those not known to be that far once), or the primary.
    pub async fn pick(&self, min: Lsn) -> ReadSource {
        let n = self.inner.standbys.len();
        if n == 0 {
            return ReadSource::Primary;
        }
        let start = self.inner.next.fetch_add(1, Ordering::Relaxed);
        for k in 0..n {
            let i = (start + k) % n;
            let s = &self.inner.standbys[i];
            if !s.in_rotation.load(Ordering::Acquire) {
                continue;
            }
            if self.serves(i, min) {
                return ReadSource::Standby(i);
            }
            if let Ok(Some(lsn)) = tokio::time::timeout(self.inner.opts.check_timeout, replay_now(&s.db)).await {
                s.replay.fetch_max(lsn.0, Ordering::AcqRel);
                if self.serves(i, min) {
                    return ReadSource::Standby(i);
                }
            }
        }
        self.inner.fallbacks.fetch_add(1, Ordering::Relaxed);
        ReadSource::Primary
    }

    /// Take standby `i` out of rotation now (a read failed on it); the
    /// checker puts it back once it answers and keeps up.
    pub fn take_out(&self, i: usize, why: &str) {
        if let Some(s) = self.inner.standbys.get(i) {
            if s.in_rotation.swap(false, Ordering::AcqRel) {
                tracing::warn!(standby = %s.name, url = %s.url, reason = why, "standby out of rotation");
            }
            if let Ok(mut e) = s.error.lock() {
                *e = Some(why.to_owned());
            }
        }
    }

    /// Count a read as answered by `source` (for `/metrics`).
    pub fn count(&self, source: ReadSource) {
        match source {
            ReadSource::Primary => self.inner.primary_reads.fetch_add(1, Ordering::Relaxed),
            ReadSource::Standby(_) => self.inner.standby_reads.fetch_add(1, Ordering::Relaxed),
        };
    }

    /// Reads answered by standbys, by the primary, and reads that wanted a
    /// standby but had to go to the primary.
    #[must_use]
    pub fn read_counts(&self) -> (u64, u64, u64) {
        let i = &self.inner;
        (i.standby_reads.load(Ordering::Relaxed), i.primary_reads.load(Ordering::Relaxed), i.fallbacks.load(Ordering::Relaxed))
    }

    /// Whether the primary answered the last check.
    #[must_use]
    pub fn primary_up(&self) -> bool {
        self.inner.primary_up.load(Ordering::Relaxed)
    }

    /// The primary's current WAL position (the consistency token of a
    /// write that committed before this call).
    ///
    /// # Errors
    /// When the primary cannot be asked.
    pub async fn primary_lsn(&self) -> crate::Result<Lsn> {
        current_lsn(&self.inner.primary).await
    }

    /// What the last check found, per standby.
    #[must_use]
    pub fn status(&self) -> Vec<StandbyStatus> {
        let ms = |v: u64| (v != u64::MAX).then(|| v as f64 / 1000.0);
        self.inner
            .standbys
            .iter()
            .map(|s| {
                let replay = s.replay.load(Ordering::Acquire);
                StandbyStatus {
                    name: s.name.clone(),
                    in_rotation: s.in_rotation.load(Ordering::Acquire),
                    lag_seconds: ms(s.lag_ms.load(Ordering::Acquire)),
                    replay_age_seconds: ms(s.replay_age_ms.load(Ordering::Acquire)),
                    replay_lsn: (replay != 0).then(|| Lsn(replay).to_string()),
                    error: s.error.lock().ok().and_then(|e| e.clone()),
                }
            })
            .collect()
    }

    /// Check now, then every [`ReplicaOptions::check_every`] for as long
    /// as this set lives (needs a Tokio runtime; without standbys nothing
    /// is started).
    pub fn spawn_checker(&self) {
        if self.inner.standbys.is_empty() {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else { return };
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let every = self.inner.opts.check_every;
        rt.spawn(async move {
            loop {
                let Some(inner) = weak.upgrade() else { return };
                ReadSet { inner }.check().await;
                tokio::time::sleep(every).await;
            }
        });
    }

    /// One round of the checker: ask the primary and every standby, take
    /// standbys out of rotation or back in.
    pub async fn check(&self) {
        let i = &self.inner;
        let timeout = i.opts.check_timeout;
        let now = Instant::now();
        let primary = match tokio::time::timeout(timeout, current_lsn(&i.primary)).await {
            Ok(Ok(l)) => Some(l),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "replica check: the primary does not answer");
                None
            }
            Err(_) => None,
        };
        let was_up = i.primary_up.swap(primary.is_some(), Ordering::Relaxed);
        if was_up != primary.is_some() {
            if primary.is_some() {
                tracing::info!("the primary answers again");
            } else {
                tracing::warn!("the primary does not answer: reads go to the standbys in rotation, writes fail");
            }
        }
        let horizon = i.opts.max_lag * 2 + Duration::from_secs(1);
        let history: Vec<(Instant, Lsn)> = {
            let Ok(mut h) = i.history.lock() else { return };
            if let Some(p) = primary {
                h.push_back((now, p));
            }
            while h.len() > 1 && h.front().is_some_and(|(t, _)| now.duration_since(*t) > horizon) {
                h.pop_front();
            }
            h.iter().copied().collect()
        };
        let checks = futures_util::future::join_all(i.standbys.iter().map(|s| async move {
            match tokio::time::timeout(timeout, replay_state(&s.db)).await {
                Ok(r) => r,
                Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
            }
        }))
        .await;
        for (s, r) in i.standbys.iter().zip(checks) {
            let verdict = r.and_then(|(replay, age_ms)| {
                s.replay.fetch_max(replay.0, Ordering::AcqRel);
                s.replay_age_ms.store(age_ms.map_or(u64::MAX, |a| a.max(0.0) as u64), Ordering::Relaxed);
                let lag = primary.map(|_| lag_behind(&history, replay, now));
                s.lag_ms.store(lag.map_or(u64::MAX, |l| l.as_millis() as u64), Ordering::Relaxed);
                match lag {
                    Some(l) if l > i.opts.max_lag => Err(format!(
                        "{:.1} s behind the primary (FUNKPLAN_MAX_REPLICA_LAG is {:.1} s)",
                        l.as_secs_f64(),
                        i.opts.max_lag.as_secs_f64()
                    )),
                    // Without the primary the lag cannot be measured; a
                    // standby that answers is the best there is.
                    _ => Ok(()),
                }
            });
            let now_in = verdict.is_ok();
            let was_in = s.in_rotation.swap(now_in, Ordering::AcqRel);
            if let Ok(mut e) = s.error.lock() {
                *e = verdict.as_ref().err().cloned();
            }
            match (&verdict, was_in) {
                (Ok(()), false) => tracing::info!(standby = %s.name, url = %s.url, "standby in rotation"),
                (Err(why), true) => tracing::warn!(standby = %s.name, url = %s.url, reason = %why, "standby out of rotation"),
                _ => {}
            }
        }
    }
}

/// How long the standby that replayed up to `replay` has been behind:
/// since the first time the primary was seen past it (zero when it is not
/// behind any position seen). `history` is oldest first.
#[must_use]
pub fn lag_behind(history: &[(Instant, Lsn)], replay: Lsn, now: Instant) -> Duration {
    history
        .iter()
        .find(|(_, p)| *p > replay)
        .map_or(Duration::ZERO, |(t, _)| now.saturating_duration_since(*t))
}

async fn current_lsn(db: &Db) -> crate::Result<Lsn> {
    let what = "reading the primary's WAL position";
    let c = db.conn().await?;
    let row = c.query_one("SELECT pg_current_wal_lsn()::text AS lsn", &[]).await.map_err(crate::Error::pg(what))?;
    let text: String = row.try_get("lsn").map_err(crate::Error::pg(what))?;
    text.parse().map_err(|e: LsnError| crate::Error::Pool(format!("{what}: {e}")))
}

/// The standby's replayed position now, `None` when it cannot say.
async fn replay_now(db: &Db) -> Option<Lsn> {
    replay_state(db).await.ok().map(|(l, _)| l)
}

/// A standby's replayed position and the age of its last replayed
/// transaction (milliseconds), or why it cannot serve.
async fn replay_state(db: &Db) -> Result<(Lsn, Option<f64>), String> {
    let c = db.conn().await.map_err(|e| e.to_string())?;
    let row = c.query_one(REPLAY_SQL, &[]).await.map_err(|e| pg_detail(&e))?;
    let rec: bool = row.try_get("rec").map_err(|e| pg_detail(&e))?;
    if !rec {
        return Err("not a standby (pg_is_in_recovery() is false: promoted, or the primary's URL)".into());
    }
    let replay: Option<String> = row.try_get("replay").map_err(|e| pg_detail(&e))?;
    let replay = replay.ok_or("no WAL replayed yet")?.parse::<Lsn>().map_err(|e| e.to_string())?;
    let age: Option<f64> = row.try_get("age_ms").map_err(|e| pg_detail(&e))?;
    Ok((replay, age))
}

/// Parse `FUNKPLAN_MAX_REPLICA_LAG`: seconds (`5`, `0.5`) or with a unit
/// (`500ms`, `5s`).
///
/// # Errors
/// A text saying what is expected.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// assert_eq!(funkplan_db::parse_lag("5").unwrap(), Duration::from_secs(5));
/// assert_eq!(funkplan_db::parse_lag("250ms").unwrap(), Duration::from_millis(250));
/// assert_eq!(funkplan_db::parse_lag("1.5s").unwrap(), Duration::from_millis(1500));
/// assert!(funkplan_db::parse_lag("-1").is_err());
/// ```
pub fn parse_lag(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else {
        (t, 1.0)
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v * scale <= 86_400.0 => Ok(Duration::from_secs_f64(v * scale)),
        _ => Err(format!("{s:?} is not a replica lag: a positive number of seconds (e.g. 5, 0.5) or milliseconds with 'ms' (e.g. 500ms)")),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn lsn_reads_and_writes_postgres_form() {
        assert_eq!("0/3000060".parse::<Lsn>().unwrap(), Lsn(0x0300_0060));
        assert_eq!("16/B374D848".parse::<Lsn>().unwrap(), Lsn((0x16 << 32) | 0xB374_D848));
        assert_eq!(Lsn((0x16 << 32) | 0xB374_D848).to_string(), "16/B374D848");
        assert!("0/3000060".parse::<Lsn>().unwrap() < "1/0".parse::<Lsn>().unwrap());
        for bad in ["", "0", "/1", "1/", "x/1", "0/123456789", "1/2/3", "-1/0", "0/ 1"] {
            let e = bad.parse::<Lsn>().unwrap_err();
            assert!(e.to_string().contains("not a WAL position"), "{bad}: {e}");
        }
    }

    #[test]
    fn lag_counts_from_when_the_primary_passed_the_standby() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let h = [(at(0), Lsn(10)), (at(100), Lsn(20)), (at(200), Lsn(30))];
        assert_eq!(lag_behind(&h, Lsn(30), at(300)), Duration::ZERO, "caught up");
        assert_eq!(lag_behind(&h, Lsn(40), at(300)), Duration::ZERO, "ahead of what was seen");
        assert_eq!(lag_behind(&h, Lsn(20), at(300)), Duration::from_millis(100));
        assert_eq!(lag_behind(&h, Lsn(5), at(300)), Duration::from_millis(300));
        assert_eq!(lag_behind(&[], Lsn(5), at(300)), Duration::ZERO);
    }

    proptest! {
        #[test]
        fn lsn_text_round_trips(v in any::<u64>()) {
            let l = Lsn(v);
            prop_assert_eq!(l.to_string().parse::<Lsn>().unwrap(), l);
        }

        /// The lag only grows as the standby falls further behind, and is
        /// never more than the history spans.
        #[test]
        fn lag_is_monotone_in_how_far_behind(mut lsns in proptest::collection::vec(0u64..1000, 1..20), a in 0u64..1000, b in 0u64..1000) {
            lsns.sort_unstable();
            let t0 = Instant::now();
            let h: Vec<_> = lsns.iter().enumerate().map(|(k, l)| (t0 + Duration::from_millis(k as u64 * 10), Lsn(*l))).collect();
            let now = t0 + Duration::from_secs(1);
            let (lo, hi) = (a.min(b), a.max(b));
            prop_assert!(lag_behind(&h, Lsn(lo), now) >= lag_behind(&h, Lsn(hi), now));
            prop_assert!(lag_behind(&h, Lsn(lo), now) <= Duration::from_secs(1));
        }
    }
}
