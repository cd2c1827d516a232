//! Prometheus metrics, written by hand in the text exposition format: the
//! few series we keep do not justify a metrics framework.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
pub(crate) struct Metrics {
    requests: Mutex<HashMap<(String, String, u16), u64>>,
    latency: Mutex<HashMap<String, Histogram>>,
    auth_lookups: AtomicU64,
    auth_failures: AtomicU64,
    auth_throttled: AtomicU64,
    /// Connections served now, and those refused with 503 or closed
    /// because the connection limit was reached ([`crate::server`]).
    pub(crate) connections_open: AtomicU64,
    pub(crate) connections_refused: AtomicU64,
}

impl Metrics {
    /// A token looked up in the database.
    pub(crate) fn auth_lookup(&self) {
        self.auth_lookups.fetch_add(1, Ordering::Relaxed);
    }

    /// A missing, malformed, unknown or revoked token.
    pub(crate) fn auth_failed(&self) {
        self.auth_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// A request answered 429 before any lookup.
    pub(crate) fn auth_throttled(&self) {
        self.auth_throttled.fetch_add(1, Ordering::Relaxed);
    }

    fn render_counters(&self, out: &mut String) {
        let series: [(&str, &str, &str, &AtomicU64); 5] = [
            ("funkplan_auth_token_lookups_total", "counter", "Tokens looked up in the database.", &self.auth_lookups),
            ("funkplan_auth_failures_total", "counter", "Requests with a missing, unknown or revoked token.", &self.auth_failures),
            ("funkplan_auth_throttled_total", "counter", "Requests answered 429 before any token lookup.", &self.auth_throttled),
            ("funkplan_http_connections_open", "gauge", "HTTP connections open now.", &self.connections_open),
            ("funkplan_http_connections_refused_total", "counter", "Connections answered 503 or closed at the connection limit.", &self.connections_refused),
        ];
        for (name, kind, help, v) in series {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}", v.load(Ordering::Relaxed));
        }
    }

    fn observe(&self, method: &str, route: &str, status: u16, secs: f64) {
        if let Ok(mut m) = self.requests.lock() {
            // Keys are allocated once per series, not per request.
            let found = m.iter_mut().find(|((me, r, s), _)| *s == status && me == method && r == route);
            match found {
                Some((_, n)) => *n += 1,
                None => {
                    m.insert((method.to_owned(), route.to_owned(), status), 1);
                }
            }
        }
        if let Ok(mut m) = self.latency.lock() {
            if !m.contains_key(route) {
                m.insert(route.to_owned(), Histogram::default());
            }
            let Some(h) = m.get_mut(route) else { return };
            for (i, b) in BUCKETS.iter().enumerate() {
                if secs <= *b {
                    h.counts[i] += 1;
                }
            }
            h.count += 1;
            h.sum += secs;
        }
    }

    /// The request series in exposition format.
    pub(crate) fn render(&self, out: &mut String) {
        self.render_counters(out);
        out.push_str("# HELP funkplan_http_requests_total HTTP requests by method, route and status.\n");
        out.push_str("# TYPE funkplan_http_requests_total counter\n");
        if let Ok(m) = self.requests.lock() {
            let mut rows: Vec<_> = m.iter().collect();
            rows.sort();
            for ((method, route, status), n) in rows {
                let _ = writeln!(
                    out,
                    "funkplan_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                    esc(method),
                    esc(route)
                );
            }
        }
        out.push_str("# HELP funkplan_http_request_duration_seconds Time to answer, by route.\n");
        out.push_str("# TYPE funkplan_http_request_duration_seconds histogram\n");
        if let Ok(m) = self.latency.lock() {
            let mut rows: Vec<_> = m.iter().collect();
            rows.sort_by(|a, b| a.0.cmp(b.0));
            for (route, h) in rows {
                let r = esc(route);
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "funkplan_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"{b}\"}} {}",
                        h.counts[i]
                    );
                }
                let _ = writeln!(out, "funkplan_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"+Inf\"}} {}", h.count);
                let _ = writeln!(out, "funkplan_http_request_duration_seconds_sum{{route=\"{r}\"}} {}", h.sum);
                let _ = writeln!(out, "funkplan_http_request_duration_seconds_count{{route=\"{r}\"}} {}", h.count);
            }
        }
    }
}

/// Escape a label value.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Route layer: count and time each request under its route template, and
/// name the route in the request's tracing span.
pub(crate) async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    tracing::Span::current().record("route", route.as_str());
    let method = req.method().clone();
    let start = Instant::now();
    let resp = next.run(req).await;
    state
        .metrics()
        .observe(method.as_str(), &route, resp.status().as_u16(), start.elapsed().as_secs_f64());
    resp
}
