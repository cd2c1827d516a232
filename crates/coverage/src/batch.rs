//! Group commit of incremental updates (issue 20, "writes under load").
//!
//! Every committed write waits for its coverage update before it answers.
//! One update at a time holds the engine (an incremental run and its results
//! transaction, some 10 ms), so 64 writers queued one behind the other
//! managed about 17 writes a second. Like PostgreSQL's WAL group commit, the
//! changes that arrive while a run is in progress are collected here, and
//! the next run takes all of them at once: one engine run and one results
//! transaction for the union of their sites. Each waiter is answered with
//! the outcome of the run that included its change, never earlier, so a
//! write still answers only after its figures are written.
//!
//! [`Batcher`] only collects; [`crate::Live::apply`] decides who
//! runs (whoever gets the engine's lock: the leader) and hands out the
//! outcome.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use funkplan_model::ChangeKind;
use serde::Serialize;
use tokio::sync::oneshot;

use crate::live::Stats;
use crate::Error;

/// What a waiter is told: the stats of the run that included its change,
/// or that run's error (shared by every waiter of the run, see
/// [`Batch::finish`]).
pub(crate) type Outcome = Result<Stats, Error>;

/// The changes collected since the last run took them.
#[derive(Default)]
struct Pending {
    site_ids: BTreeSet<String>,
    /// `None` while nothing is pending.
    which: Option<ChangeKind>,
    waiters: Vec<oneshot::Sender<Outcome>>,
}

/// One run's share of the pending changes.
pub(crate) struct Batch {
    /// Each site once (a site listed twice would be taken for deleted the
    /// second time round: its fresh row is used up by the first).
    pub site_ids: Vec<String>,
    /// The larger kind of the changes taken ([`ChangeKind::Measures`] when
    /// any was one: it refreshes every target).
    pub which: ChangeKind,
    waiters: Vec<oneshot::Sender<Outcome>>,
}

impl Batch {
    /// How many calls this run serves.
    pub fn writes(&self) -> usize {
        self.waiters.len()
    }

    /// Tell every waiter the outcome of its run: the stats, or the error
    /// itself when the run served one call, else [`Error::Batch`] with the
    /// error shared.
    pub fn finish(self, outcome: Outcome) {
        let writes = self.waiters.len();
        // A waiter that is gone (its task ended) needs no answer.
        match outcome {
            Ok(stats) => {
                for w in self.waiters {
                    let _ = w.send(Ok(stats.clone()));
                }
            }
            Err(e) if writes == 1 => {
                if let Some(w) = self.waiters.into_iter().next() {
                    let _ = w.send(Err(e));
                }
            }
            Err(e) => {
                let source = Arc::new(e);
                for w in self.waiters {
                    let _ = w.send(Err(Error::Batch { writes, source: Arc::clone(&source) }));
                }
            }
        }
    }
}

/// How many incremental updates were asked for and how many engine runs
/// served them (fewer when concurrent writes were grouped).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UpdateCounts {
    /// Calls of [`crate::Live::apply`] (and `sites_changed`).
    pub calls: u64,
    /// Incremental engine runs (each with one results transaction).
    pub runs: u64,
}

/// The collection point of concurrent updates.
#[derive(Default)]
pub(crate) struct Batcher {
    pending: Mutex<Pending>,
    calls: AtomicU64,
    runs: AtomicU64,
}

impl Batcher {
    /// Add a change; the receiver is answered by the run that takes it.
    pub fn join(&self, site_ids: &[String], which: ChangeKind) -> oneshot::Receiver<Outcome> {
        let (tx, rx) = oneshot::channel();
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mut p = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        p.site_ids.extend(site_ids.iter().cloned());
        p.which = Some(p.which.map_or(which, |w| w.max(which)));
        p.waiters.push(tx);
        rx
    }

    /// Everything collected so far, for one run (counted as a run);
    /// `None` when nothing is pending (a run still writing took it).
    pub fn take(&self) -> Option<Batch> {
        let p = std::mem::take(&mut *self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        if p.waiters.is_empty() {
            return None;
        }
        self.runs.fetch_add(1, Ordering::Relaxed);
        Some(Batch { site_ids: p.site_ids.into_iter().collect(), which: p.which.unwrap_or(ChangeKind::Measures), waiters: p.waiters })
    }

    pub fn counts(&self) -> UpdateCounts {
        UpdateCounts { calls: self.calls.load(Ordering::Relaxed), runs: self.runs.load(Ordering::Relaxed) }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_takes_the_union_of_sites_and_the_widest_refresh() {
        let b = Batcher::default();
        let _r1 = b.join(&["S-2".into(), "S-1".into()], ChangeKind::Sites);
        let _r2 = b.join(&["S-1".into()], ChangeKind::Sites);
        let batch = b.take().unwrap();
        assert_eq!(batch.site_ids, ["S-1", "S-2"]);
        assert_eq!(batch.which, ChangeKind::Sites);
        assert_eq!(batch.writes(), 2);
        let _r3 = b.join(&["S-3".into()], ChangeKind::Sites);
        let _r4 = b.join(&[], ChangeKind::Measures);
        let batch = b.take().unwrap();
        assert_eq!(batch.site_ids, ["S-3"]);
        assert_eq!(batch.which, ChangeKind::Measures);
        // Nothing pending: no batch, and no run counted.
        assert!(b.take().is_none());
        assert_eq!(b.counts(), UpdateCounts { calls: 4, runs: 2 });
    }

    #[test]
    fn every_waiter_of_a_batch_hears_its_error() {
        let b = Batcher::default();
        let mut r1 = b.join(&["S-1".into()], ChangeKind::Measures);
        let mut r2 = b.join(&["S-2".into()], ChangeKind::Measures);
        let batch = b.take().unwrap();
        batch.finish(Err(Error::Data("disk full".into())));
        for r in [&mut r1, &mut r2] {
            let e = r.try_recv().unwrap().unwrap_err();
            assert!(matches!(e, Error::Batch { writes: 2, .. }), "{e:?}");
            assert_eq!(e.to_string(), "coverage update of 2 concurrent writes together: coverage data: disk full");
        }
        // Alone in its run, a call gets the error itself.
        let mut r3 = b.join(&["S-3".into()], ChangeKind::Measures);
        b.take().unwrap().finish(Err(Error::Data("disk full".into())));
        assert!(matches!(r3.try_recv().unwrap(), Err(Error::Data(_))));
    }
}
