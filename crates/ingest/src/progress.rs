//! Progress of long ingests: a bar with rows/s on a terminal, a plain log
//! line every few seconds otherwise (README.md).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    label: String,
    bar: Option<ProgressBar>,
    rows: AtomicU64,
    last_log: Mutex<Instant>,
    started: Instant,
}

impl Progress {
    /// A bar when stderr is a terminal and `enabled`, else log lines.
    #[must_use]
    pub fn new(label: &str, enabled: bool) -> Self {
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {human_pos} rows, {per_sec} [{elapsed}]") {
                b.set_style(style);
            }
            b.set_message(label.to_owned());
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        Self { label: label.to_owned(), bar, rows: AtomicU64::new(0), last_log: Mutex::new(Instant::now()), started: Instant::now() }
    }

    /// A progress that shows nothing (tests, library use).
    #[must_use]
    pub fn hidden(label: &str) -> Self {
        Self::new(label, false)
    }

    pub fn inc(&self, n: u64) {
        let total = self.rows.fetch_add(n, Ordering::Relaxed) + n;
        if let Some(b) = &self.bar {
            b.set_position(total);
        } else if let Ok(mut last) = self.last_log.try_lock() {
            if last.elapsed() >= Duration::from_secs(5) {
                *last = Instant::now();
                let secs = self.started.elapsed().as_secs_f64().max(1e-9);
                #[allow(clippy::cast_precision_loss)]
                let rate = total as f64 / secs;
                tracing::info!("{}: {total} rows read, {rate:.0} rows/s", self.label);
            }
        }
    }

    /// Say what is happening now (e.g. "writing").
    pub fn stage(&self, what: &str) {
        if let Some(b) = &self.bar {
            b.set_message(format!("{}: {what}", self.label));
        } else {
            tracing::info!("{}: {what}", self.label);
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
