//! A value read from the database at one data version ([`crate::version`])
//! and read again in the background when the version moves on (issue 19:
//! answers that miss the response cache, served from memory).
//!
//! - **Freshness.** A value is tagged with the data version read *before*
//!   its load began and is handed out only while that is still the
//!   version, so it is never older than what the response cache would
//!   serve. While there is none of the current version, callers answer
//!   from SQL and ask for one load in the background.
//! - **Cost under writes.** At most one load runs at a time, the next one
//!   waits four load times after the last, and a value that went stale
//!   before it answered anything doubles that pause (up to 64 load times),
//!   so a stream of writes cannot keep a core busy reloading.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// A loaded value and the data version it is of.
pub(crate) struct Loaded<T> {
    pub(crate) version: u64,
    pub(crate) value: T,
    /// Requests it answered.
    served: AtomicU64,
}

/// The slot one kind of value is kept in.
pub(crate) struct Reloading<T> {
    current: RwLock<Option<Arc<Loaded<T>>>>,
    loading: AtomicBool,
    /// When the last load ended, and the pause before the next one.
    last: Mutex<Option<(Instant, Duration)>>,
    served: AtomicU64,
}

impl<T> Default for Reloading<T> {
    fn default() -> Self {
        Self {
            current: RwLock::new(None),
            loading: AtomicBool::new(false),
            last: Mutex::new(None),
            served: AtomicU64::new(0),
        }
    }
}

impl<T: Send + Sync + 'static> Reloading<T> {
    /// The value of `version`, if that is the one held; counted as served.
    pub(crate) fn get(&self, version: u64) -> Option<Arc<Loaded<T>>> {
        let v = self.at(version)?;
        self.answered(&v);
        Some(v)
    }

    /// The value of `version`, if that is the one held, not yet counted:
    /// for callers that may still leave the request to SQL.
    pub(crate) fn at(&self, version: u64) -> Option<Arc<Loaded<T>>> {
        let v = self.current.read().ok()?.clone()?;
        (v.version == version).then_some(v)
    }

    /// Count a request `v` answered.
    pub(crate) fn answered(&self, v: &Loaded<T>) {
        v.served.fetch_add(1, Ordering::Relaxed);
        self.served.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests answered from the held values so far.
    pub(crate) fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    /// The data version of the value held, if any.
    pub(crate) fn version(&self) -> Option<u64> {
        self.current.read().ok()?.as_ref().map(|c| c.version)
    }

    /// Hold `value`, loaded at `version`.
    pub(crate) fn put(&self, version: u64, value: T) {
        if let Ok(mut w) = self.current.write() {
            *w = Some(Arc::new(Loaded {
                version,
                value,
                served: AtomicU64::new(0),
            }));
        }
    }

    /// Start `load` in the background unless the held value is of
    /// `version`, a load runs, or the last one ended too recently. `what`
    /// names the value in the log.
    pub(crate) fn want<F, E>(self: &Arc<Self>, version: u64, what: &'static str, load: F)
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        if self.version() == Some(version) {
            return;
        }
        if let Ok(last) = self.last.lock() {
            if let Some((ended, pause)) = *last {
                if ended.elapsed() < pause {
                    return;
                }
            }
        }
        if self.loading.swap(true, Ordering::AcqRel) {
            return;
        }
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let t0 = Instant::now();
            let result = load.await;
            let took = t0.elapsed();
            let mut pause = took * 4;
            match result {
                Ok(value) => {
                    tracing::debug!(what, ms = took.as_millis(), "loaded into memory");
                    let unused = me
                        .current
                        .read()
                        .ok()
                        .and_then(|c| c.as_ref().map(|c| c.served.load(Ordering::Relaxed) == 0))
                        .unwrap_or(false);
                    let before = me.last.lock().ok().and_then(|l| l.map(|(_, p)| p));
                    if let (true, Some(p)) = (unused, before) {
                        pause = (p * 2).min(took * 64).max(pause);
                    }
                    me.put(version, value);
                }
                Err(e) => {
                    tracing::warn!(what, error = %e, "loading into memory failed; answers come from SQL");
                    pause = took * 64;
                }
            }
            if let Ok(mut last) = me.last.lock() {
                *last = Some((Instant::now(), pause.max(Duration::from_millis(250))));
            }
            me.loading.store(false, Ordering::Release);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_handed_out_only_at_its_version() {
        let r = Reloading::<u32>::default();
        assert!(r.get(1).is_none());
        r.put(1, 7);
        assert_eq!(r.get(1).map(|l| l.value), Some(7));
        assert!(
            r.get(2).is_none(),
            "a newer version must not get the old value"
        );
        assert_eq!(r.served(), 1);
    }

    #[tokio::test]
    async fn one_load_at_a_time_and_a_pause_after_it() {
        let r = Arc::new(Reloading::<u32>::default());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        r.want(3, "test", async move {
            let _ = rx.await;
            Ok::<_, funkplan_db::Error>(9)
        });
        // A second wish while the first load runs starts nothing.
        r.want(3, "test", async { Ok::<_, funkplan_db::Error>(10) });
        tx.send(()).unwrap_or(());
        for _ in 0..100 {
            if r.get(3).is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(r.get(3).map(|l| l.value), Some(9));
        // Right after a load, a wish for another version waits its pause.
        r.want(4, "test", async { Ok::<_, funkplan_db::Error>(11) });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(r.get(4).is_none());
    }
}
