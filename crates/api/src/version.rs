//! The data version that keys the response cache.
//!
//! A dedicated connection LISTENs on `funkplan_change` (sent by statement
//! triggers of migration V30 when a transaction that changed data commits,
//! whichever process committed it) and bumps an in-memory counter. While that
//! connection is down the version is unknown and nothing is cached, so a
//! missed notification can never leave a stale answer behind.
//!
//! For standbys and tokens (issue 25) a version also carries a WAL position: the
//! primary's `pg_current_wal_lsn()` read after the notification arrived,
//! so at or past the change's commit. Reads served under that version go
//! to a standby only once it has replayed that far; otherwise a node could
//! cache a standby's older answer under the new version and keep handing
//! it out until the next change.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use tokio_postgres::AsyncMessage;

#[derive(Debug, Default)]
pub(crate) struct DataVersion {
    epoch: AtomicU64,
    live: AtomicBool,
    /// The WAL position reads of the current version must have (0: none).
    lsn: AtomicU64,
    /// Whether the listener reads the primary's position on each change
    /// (set by every server; off only for a bare `DataVersion` in tests).
    track_lsn: AtomicBool,
}

impl DataVersion {
    /// The current version, or `None` while changes cannot be observed.
    pub(crate) fn current(&self) -> Option<u64> {
        if self.live.load(Ordering::Acquire) {
            Some(self.epoch.load(Ordering::Acquire))
        } else {
            None
        }
    }

    /// Mark everything cached so far as outdated.
    pub(crate) fn bump(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// The WAL position reads of the current version must have replayed.
    /// Read after [`DataVersion::current`]: it is raised before the epoch
    /// moves, so it is at least that version's.
    pub(crate) fn lsn(&self) -> funkplan_db::Lsn {
        funkplan_db::Lsn(self.lsn.load(Ordering::Acquire))
    }

    /// Raise the position reads must have, then move the version (so no
    /// reader sees the new version with the old position).
    pub(crate) fn advance(&self, lsn: funkplan_db::Lsn) {
        self.lsn.fetch_max(lsn.0, Ordering::AcqRel);
        self.bump();
    }

    /// Read the primary's position on every change from now on.
    pub(crate) fn track_lsn(&self) {
        self.track_lsn.store(true, Ordering::Release);
    }

    fn set_live(&self, live: bool) {
        // Bump first: entries made before this point must not survive a gap
        // in which notifications may have been lost.
        self.bump();
        self.live.store(live, Ordering::Release);
    }
}

/// Keep a LISTEN connection open for as long as `version` lives.
pub(crate) fn spawn_listener(url: String, version: &Arc<DataVersion>) {
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        tracing::warn!("no async runtime: response cache disabled");
        return;
    };
    let weak: Weak<DataVersion> = Arc::downgrade(version);
    rt.spawn(async move {
        loop {
            if weak.strong_count() == 0 {
                return;
            }
            match listen_once(&url, &weak).await {
                Ok(()) => return,
                Err(e) => tracing::debug!(error = %e, "change listener disconnected; retrying"),
            }
            if let Some(v) = weak.upgrade() {
                v.set_live(false);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

/// One connection's life. `Ok` means the state is gone and we should stop.
async fn listen_once(url: &str, weak: &Weak<DataVersion>) -> Result<(), String> {
    let (client, mut conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| funkplan_db::pg_detail(&e))?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<bool>();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
        while let Some(m) = messages.next().await {
            match m {
                Ok(AsyncMessage::Notification(_)) => {
                    if tx.send(true).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        let _ = tx.send(false);
    });
    let listened = client.batch_execute("LISTEN funkplan_change").await;
    let result = match listened {
        Err(e) => Err(funkplan_db::pg_detail(&e)),
        Ok(()) => {
            match weak.upgrade() {
                Some(v) => v.set_live(true),
                None => return Ok(()),
            }
            loop {
                match rx.recv().await {
                    Some(true) => match weak.upgrade() {
                        Some(v) if v.track_lsn.load(Ordering::Acquire) => {
                            // Several changes may be waiting: one position,
                            // read after all of them, serves them all.
                            while let Ok(true) = rx.try_recv() {}
                            match client.query_one("SELECT pg_current_wal_lsn()::text AS lsn", &[]).await {
                                Ok(row) => match row.try_get::<_, String>("lsn").ok().and_then(|t| t.parse().ok()) {
                                    Some(lsn) => v.advance(lsn),
                                    None => break Err("unreadable WAL position".to_owned()),
                                },
                                Err(e) => break Err(funkplan_db::pg_detail(&e)),
                            }
                        }
                        Some(v) => v.bump(),
                        None => break Ok(()),
                    },
                    _ => break Err("connection closed".to_owned()),
                }
            }
        }
    };
    drop(client);
    driver.abort();
    result
}
