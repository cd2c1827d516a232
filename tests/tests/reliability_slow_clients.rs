//! Connection exhaustion (issue 20): thousands of clients that send half a
//! request, and kept-alive connections left idle, must neither starve real
//! clients nor stay open for long; past the connection limit `/healthz`
//! still answers and everything else gets a clear 503. Bounded: a few
//! thousand loopback connections, each closed by the server within seconds.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod reliability_common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use funkplan_e2e::{header, http};
use reliability_common::{json, Loaded, Server};

/// Header-read (and idle) timeout of the servers that check closing, in
/// seconds.
const TIMEOUT: u64 = 2;

/// The soft open-files limit of this process.
fn open_files_limit() -> usize {
    let text = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1024)
}

/// `n` connections that each sent the first half of a request.
fn slow_clients(addr: &str, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"GET /api/v1/targets HTTP/1.1\r\nHost: slow\r\nX-Half: ").unwrap();
            s
        })
        .collect()
}

/// Whether the server closed `s` (EOF or reset) within `within`.
fn closed_by_server(mut s: &TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0_u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {} // e.g. a 408 before the close
            Err(e) => return !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
        }
    }
}

/// The `funkplan_http_connections_open` gauge of the server at `addr`.
fn open_connections(addr: &str) -> u64 {
    let (_, _, metrics) = http(addr, "GET", "/metrics", &[], None).unwrap();
    let line = metrics.lines().find(|l| l.starts_with("funkplan_http_connections_open ")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn real_requests_succeed_while_thousands_of_slow_clients_are_open() {
    let l = Loaded::new("slow");
    // A header timeout longer than opening them all can take on a busy
    // machine: every slow client is still open while the real requests run
    // (checked by the server's own gauge). Closing is the next test's.
    let s = Server::start(&l.url, &[("FUNKPLAN_HEADER_TIMEOUT_SECS", "120")], l.dir.path("serve.log"));
    // 5,000 as the issue asks, fewer where this process may not open them.
    let n = 5_000.min(open_files_limit().saturating_sub(500) / 2);
    let start = Instant::now();
    let slow = slow_clients(&s.addr, n);
    println!("{n} slow connections opened in {:?}", start.elapsed());
    let open = open_connections(&s.addr);
    assert!(open >= n as u64, "the server counts {open} open connections, {n} slow ones were opened");
    for i in 0..20 {
        let path = if i % 2 == 0 { "/api/v1/targets" } else { "/healthz" };
        let (st, _, body) = http(&s.addr, "GET", path, &[], None).unwrap();
        assert_eq!(st, 200, "real request {i} ({path}) with {n} slow clients open: {body}");
    }
    assert!(open_connections(&s.addr) >= n as u64, "slow clients were closed before the real requests were done");
    drop(slow);
}

#[test]
fn half_sent_requests_and_idle_connections_are_closed_after_the_timeout() {
    let l = Loaded::new("idle");
    let timeout = TIMEOUT.to_string();
    let s = Server::start(&l.url, &[("FUNKPLAN_HEADER_TIMEOUT_SECS", &timeout)], l.dir.path("serve.log"));
    let slow = slow_clients(&s.addr, 200);
    let opened = Instant::now();
    std::thread::sleep(Duration::from_secs(TIMEOUT + 2));
    let closed = slow.iter().filter(|c| closed_by_server(c, Duration::from_millis(200))).count();
    assert_eq!(closed, 200, "half-sent requests still open {:?} after they were sent", opened.elapsed());

    // An idle kept-alive connection is closed after the same timeout.
    let mut c = TcpStream::connect(&s.addr).unwrap();
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut first = [0_u8; 512];
    let got = c.read(&mut first).unwrap();
    assert!(String::from_utf8_lossy(&first[..got]).starts_with("HTTP/1.1 200"));
    let idle = Instant::now();
    assert!(closed_by_server(&c, Duration::from_secs(TIMEOUT + 5)), "idle keep-alive never closed");
    assert!(idle.elapsed() >= Duration::from_secs(TIMEOUT - 1), "closed before the timeout: {:?}", idle.elapsed());
}

#[test]
fn past_the_connection_limit_healthz_answers_and_the_rest_is_503() {
    let l = Loaded::new("limit");
    let timeout = TIMEOUT.to_string();
    let s = Server::start(
        &l.url,
        &[("FUNKPLAN_HEADER_TIMEOUT_SECS", &timeout), ("FUNKPLAN_MAX_CONNECTIONS", "40")],
        l.dir.path("serve.log"),
    );
    let slow = slow_clients(&s.addr, 40);
    std::thread::sleep(Duration::from_millis(200));
    let (st, h, body) = http(&s.addr, "GET", "/api/v1/targets", &[], None).unwrap();
    assert_eq!(st, 503, "{body}");
    assert!(header(&h, "content-type").unwrap_or_default().starts_with("application/problem+json"), "{h:?}");
    assert_eq!(header(&h, "retry-after"), Some("1"));
    assert!(json(&body)["detail"].as_str().unwrap().contains("connection limit"), "{body}");
    let (st, _, body) = http(&s.addr, "GET", "/healthz", &[], None).unwrap();
    assert_eq!(st, 200, "healthz at the limit: {body}");
    // Once the slow clients are timed out, everything answers again.
    drop(slow);
    let end = Instant::now() + Duration::from_secs(TIMEOUT + 10);
    loop {
        let (st, _, _) = http(&s.addr, "GET", "/api/v1/targets", &[], None).unwrap();
        if st == 200 {
            break;
        }
        assert!(Instant::now() < end, "still {st} after the slow clients left");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, _, metrics) = http(&s.addr, "GET", "/metrics", &[], None).unwrap();
    let refused = metrics.lines().find(|l| l.starts_with("funkplan_http_connections_refused_total ")).unwrap();
    assert_ne!(refused, "funkplan_http_connections_refused_total 0", "{metrics}");
}
