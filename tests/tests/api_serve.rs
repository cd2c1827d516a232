//! `funkplan token` and `funkplan serve` end to end: a token made by the CLI
//! writes through the running server until it is revoked.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};

use funkplan_e2e::{bin, free_addr, http_get, run, text, wait_http_ok};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn request(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let t = String::from_utf8_lossy(&buf).into_owned();
    let status = t.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, t)
}

#[test]
fn cli_token_writes_through_the_server_until_revoked() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(funkplan_db::testing::TestDb::new());
    let env = [("DATABASE_URL", db.url.as_str())];

    let o = run(&["token", "create", "--role", "staff", "--label", "e2e"], &env);
    assert!(o.status.success(), "{:?}", text(&o));
    let out = text(&o).0;
    let token = out.lines().last().unwrap().trim().to_owned();
    assert!(token.starts_with("fp_") && token.len() == 67, "{out}");
    assert!(!text(&o).1.contains(&token), "token must not be logged");
    let o = run(&["token", "create", "--role", "mayor"], &env);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("invalid --role"), "{:?}", text(&o));
    let listed = text(&run(&["token", "list"], &env)).0;
    assert!(listed.contains("staff") && listed.contains("e2e") && !listed.contains(&token), "{listed}");

    let addr = free_addr();
    let child = Command::new(bin())
        .args(["serve", "--addr", &addr, "--web-dir", "/nonexistent/dist"])
        .env("DATABASE_URL", &db.url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Server(child);
    assert!(wait_http_ok(&addr, "/healthz", 60), "server did not come up");

    let (s, page) = http_get(&addr, "/").unwrap();
    assert_eq!(s, 200);
    assert!(page.contains("nicht gebaut"), "{page}");

    let site = r#"{"site_id":"E2E-1","operator":"telekom","lon":7.0,"lat":51.0,"status":"planned","technologies":[]}"#;
    let auth = format!("Bearer {token}");
    let json = ("Content-Type", "application/json");
    let (s, t) = request(&addr, "POST", "/api/v1/sites", &[json, ("Authorization", &auth)], site);
    assert_eq!(s, 201, "{t}");
    let (s, body) = http_get(&addr, "/api/v1/sites/E2E-1").unwrap();
    assert_eq!(s, 200);
    assert!(body.contains("\"lon\": 7") || body.contains("\"lon\":7"), "{body}");
    let (s, t) = request(&addr, "POST", "/api/v1/sites", &[json], site);
    assert_eq!(s, 401, "{t}");
    assert!(t.to_lowercase().contains("www-authenticate: bearer"), "{t}");

    let o = run(&["token", "revoke", &token], &env);
    assert!(o.status.success(), "{:?}", text(&o));
    let site2 = site.replace("E2E-1", "E2E-2");
    let (s, t) = request(&addr, "POST", "/api/v1/sites", &[json, ("Authorization", &auth)], &site2);
    assert_eq!(s, 401, "{t}");
    let o = run(&["token", "revoke", "424242"], &env);
    assert!(!o.status.success());

    let (s, _) = http_get(&addr, "/api/v1/audit").unwrap();
    assert_eq!(s, 401, "the audit log is not public");
    let staff = run(&["token", "create", "--role", "staff"], &env);
    let staff = format!("Bearer {}", String::from_utf8_lossy(&staff.stdout).lines().last().unwrap().trim());
    let (s, body) = request(&addr, "GET", "/api/v1/audit", &[("Authorization", &staff)], "");
    assert_eq!(s, 200);
    assert!(body.contains("E2E-1") && body.contains("(staff)"), "{body}");
    let (s, body) = http_get(&addr, "/metrics").unwrap();
    assert_eq!(s, 200);
    assert!(body.contains("funkplan_http_requests_total{method=\"POST\",route=\"/api/v1/sites\",status=\"201\"} 1"), "{body}");
}
