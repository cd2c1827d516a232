//! Access (issue 8): reads are public; every write endpoint rejects a
//! missing, unknown, malformed or revoked token (401), a municipality token
//! acting on another AGS (403); tokens are stored only as hashes; `funkplan
//! token revoke` works by id and by secret; failed authentication is rate
//! limited (429 + Retry-After); no secret appears in the logs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod reliability_common;

use funkplan_e2e::{header, http, run, text};
use funkplan_ingest::crs::{Crs, Transformer};
use reliability_common::{changed, json, ok, Loaded, Server};

/// (lon, lat) of an EPSG:25832 point.
fn lonlat(x: f64, y: f64) -> (f64, f64) {
    Transformer::new(Crs::UTM32, Crs::WGS84).unwrap().transform(x, y).unwrap()
}

fn etag(addr: &str, path: &str) -> String {
    let (st, h, body) = http(addr, "GET", path, &[], None).unwrap();
    assert_eq!(st, 200, "GET {path}: {body}");
    header(&h, "etag").expect("ETag").to_owned()
}

/// The four write requests, all on objects in 05111000: (method, path, body, needs If-Match).
fn writes(tag: &str) -> Vec<(&'static str, String, String)> {
    let (lon, lat) = lonlat(341_050.0, 5_677_050.0);
    vec![
        (
            "POST",
            "/api/v1/sites".into(),
            format!(r#"{{"site_id":"N-{tag}","operator":"telekom","lon":{lon},"lat":{lat},"status":"planned","technologies":[]}}"#),
        ),
        ("PATCH", "/api/v1/sites/S-05111000-3".into(), r#"{"status":"permitting"}"#.into()),
        (
            "POST",
            "/api/v1/measures".into(),
            format!(r#"{{"measure_id":"NM-{tag}","site_id":"S-05111000-3","kind":"lte_upgrade","status":"planned","planned_date":"2027-02-01"}}"#),
        ),
        ("PATCH", "/api/v1/measures/M-S-05111000-3-lte".into(), r#"{"status":"in_progress"}"#.into()),
    ]
}

fn send(addr: &str, method: &str, path: &str, body: &str, auth: Option<&str>) -> (u16, Vec<String>, String) {
    let mut h: Vec<(&str, String)> = Vec::new();
    if let Some(a) = auth {
        h.push(("Authorization", a.to_owned()));
    }
    if method == "PATCH" {
        h.push(("If-Match", etag(addr, path)));
    }
    let hr: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    http(addr, method, path, &hr, Some(body)).unwrap()
}

#[test]
fn every_write_rejects_missing_wrong_revoked_and_foreign_tokens() {
    let l = Loaded::new("access");
    let own = l.token("municipality:05111000");
    let other = l.token("municipality:05112000");
    let revoked = l.token("staff");
    let revoked_by_id = l.token("admin");
    let out = ok(&["token", "revoke", &revoked], &l.url);
    assert!(out.contains("revoked token"), "{out}");
    let id: i64 = l.query_i64("SELECT max(id) FROM api_token");
    let out = ok(&["token", "revoke", &id.to_string()], &l.url);
    assert!(out.contains(&format!("revoked token {id}")), "{out}");
    let s = Server::start(&l.url, &[], l.dir.path("serve.log"));
    let before = l.checksums();

    let mut failures = Vec::new();
    // 403 first: a valid token on the wrong municipality is not a failed
    // authentication, so it does not use up the address's throttle budget.
    let foreign = format!("Bearer {other}");
    for (method, path, body) in writes("x") {
        let (st, h, b) = send(&s.addr, method, &path, &body, Some(&foreign));
        if st != 403 || !header(&h, "content-type").unwrap_or_default().starts_with("application/problem+json") {
            failures.push(format!("{method} {path} with municipality:05112000 on 05111000: {st} {b}"));
        }
    }
    // Moving one's own site into another municipality is refused too.
    let (lon, lat) = lonlat(343_050.0, 5_677_050.0);
    let (st, _, b) = send(&s.addr, "PATCH", "/api/v1/sites/S-05111000-3", &format!(r#"{{"lon":{lon},"lat":{lat}}}"#), Some(&format!("Bearer {own}")));
    if st != 403 {
        failures.push(format!("moving a 05111000 site into 05112000 with its municipality's token: {st} {b}"));
    }
    // 401: 4 endpoints × 5 counted failures = 20, the throttle's burst.
    let unknown = format!("Bearer fp_{}", "0".repeat(64));
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        ("unknown token", Some(unknown)),
        ("revoked token", Some(format!("Bearer {revoked}"))),
        ("token revoked by id", Some(format!("Bearer {revoked_by_id}"))),
        ("Basic credentials", Some("Basic dXNlcjpwYXNz".into())),
        ("token without Bearer", Some(own.clone())),
    ];
    for (method, path, body) in writes("x") {
        for (what, auth) in &cases {
            let (st, h, b) = send(&s.addr, method, &path, &body, auth.as_deref());
            let ct = header(&h, "content-type").unwrap_or_default();
            if st != 401 || !ct.starts_with("application/problem+json") {
                failures.push(format!("{method} {path} with {what}: {st} {ct} {b}"));
            }
            if st == 401 && header(&h, "www-authenticate").is_none() {
                failures.push(format!("{method} {path} with {what}: 401 without WWW-Authenticate"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let diff = changed(&before, &l.checksums());
    assert!(diff.is_empty(), "refused writes changed {diff:?}");

    // Reads stay public; the audit log is for staff and admins (issue 20).
    for p in ["/api/v1/targets", "/api/v1/sites/S-05111000-3", "/ogc/collections/sites/items?limit=5"] {
        assert_eq!(http(&s.addr, "GET", p, &[], None).unwrap().0, 200, "{p}");
    }
    assert_eq!(http(&s.addr, "GET", "/api/v1/audit", &[], None).unwrap().0, 401);
    // Positive control: the right token writes all four, each audited once,
    // on the same server although this address has just used up its budget
    // of failed attempts: the throttle must not lock out valid tokens (B7).
    for (method, path, body) in writes("own") {
        let (st, _, b) = send(&s.addr, method, &path, &body, Some(&format!("Bearer {own}")));
        assert!(st == 200 || st == 201, "{method} {path} with the own municipality's token: {st} {b}");
    }
    assert_eq!(l.query_i64("SELECT count(*) FROM audit_log WHERE actor LIKE '%municipality:05111000%'"), 4);
    assert_eq!(l.query_i64("SELECT count(*) FROM audit_log"), 4);
}

#[test]
fn failed_authentication_is_rate_limited_but_reads_stay_open() {
    let l = Loaded::new("ratelimit");
    let s = Server::start(&l.url, &[], l.dir.path("serve.log"));
    // A writer whose token worked (here: reading the audit log) before
    // someone else's bad attempts from the same address.
    let known = format!("Bearer {}", l.token("staff"));
    assert_eq!(http(&s.addr, "GET", "/api/v1/audit", &[("Authorization", &known)], None).unwrap().0, 200);
    let body = r#"{"status":"permitting"}"#;
    let mut first_429 = None;
    for i in 1..=40 {
        let auth = format!("Bearer fp_{:064x}", i);
        let (st, h, b) = http(&s.addr, "PATCH", "/api/v1/sites/S-05111000-3", &[("Authorization", &auth), ("If-Match", "\"1\"")], Some(body)).unwrap();
        match st {
            401 => assert!(first_429.is_none(), "401 again after a 429 at attempt {i}"),
            429 => {
                assert!(header(&h, "retry-after").is_some_and(|v| v.parse::<u32>().is_ok_and(|n| n > 0)), "429 without Retry-After");
                assert!(header(&h, "content-type").is_some_and(|c| c.starts_with("application/problem+json")), "{b}");
                first_429.get_or_insert(i);
            }
            _ => panic!("attempt {i}: {st} {b}"),
        }
    }
    let n = first_429.expect("40 failed authentications in a row were never throttled");
    assert!(n <= 25, "throttling began only at attempt {n}");
    // Reads are not affected by the write throttle, and neither is a token
    // that worked before from the same address (else 20 bogus requests
    // through a shared proxy would lock every writer out). A token never
    // seen before waits like a bad one: throttled requests are answered
    // before any database lookup (issue 20).
    assert_eq!(http(&s.addr, "GET", "/api/v1/targets", &[], None).unwrap().0, 200);
    assert_eq!(l.query_i64("SELECT count(*) FROM audit_log"), 0);
    let fresh = format!("Bearer {}", l.token("staff"));
    let path = "/api/v1/sites/S-05111000-3";
    let (st, _, b) = http(&s.addr, "PATCH", path, &[("Authorization", &fresh), ("If-Match", &etag(&s.addr, path))], Some(body)).unwrap();
    assert_eq!(st, 429, "a token never seen from a throttled address: {b}");
    assert_eq!(l.query_i64("SELECT count(*) FROM audit_log"), 0);
    let (st, _, b) = http(&s.addr, "PATCH", path, &[("Authorization", &known), ("If-Match", &etag(&s.addr, path))], Some(body)).unwrap();
    assert_eq!(st, 200, "a token that worked before, while the address is throttled: {b}");
    assert_eq!(l.query_i64("SELECT count(*) FROM audit_log"), 1);
}

#[test]
fn tokens_are_stored_only_as_hashes() {
    let l = Loaded::new("hashes");
    let o = run(&["token", "create", "--role", "staff", "--label", "reliability"], &[("DATABASE_URL", &l.url)]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let token = out.lines().last().unwrap().trim().to_owned();
    assert!(token.starts_with("fp_") && token.len() == 67 && token[3..].bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
    assert_eq!(out.matches(&token).count(), 1, "the token is printed once");
    assert!(!err.contains(&token[3..]), "token on stderr");
    let c = l.client();
    l.rt.block_on(async {
        // The stored hash is the SHA-256 of the token; nothing else about it is kept.
        let r = c.query_one("SELECT count(*) FROM api_token WHERE token_hash = sha256(convert_to($1, 'UTF8'))", &[&token]).await.unwrap();
        assert_eq!(r.get::<_, i64>(0), 1);
        let tables: Vec<String> = c
            .query("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'spatial_ref_sys'", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        for t in tables {
            let sql = format!("SELECT count(*) FROM public.\"{t}\" x WHERE strpos(lower(x::text), lower($1)) > 0 OR strpos(lower(x::text), lower($2)) > 0");
            let n: i64 = c.query_one(&sql, &[&token, &&token[3..]]).await.unwrap().get(0);
            assert_eq!(n, 0, "table {t} holds the token in plain text");
        }
        let cols: Vec<String> = c
            .query("SELECT column_name::text FROM information_schema.columns WHERE table_name = 'api_token' ORDER BY 1", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(!cols.iter().any(|c| c == "token" || c == "secret"), "api_token columns {cols:?}");
    });
    let list = ok(&["token", "list"], &l.url);
    assert!(list.contains("reliability") && !list.contains(&token[3..]), "{list}");
    // Revoking an unknown token fails and does not echo the secret back.
    let bogus = format!("fp_{}", "ab".repeat(32));
    let o = run(&["token", "revoke", &bogus], &[("DATABASE_URL", &l.url)]);
    assert!(!o.status.success());
    assert!(!text(&o).1.contains(&bogus[3..]), "{}", text(&o).1);
}

#[test]
fn no_secret_appears_in_debug_logs() {
    let l = Loaded::new("secrets");
    let password = "S3cr3tPassw0rd-rel";
    // The test cluster trusts local connections, so a password in the URL is
    // accepted and ignored by the server, but every log line could leak it.
    let url = l.url.replacen("://funkplan@", &format!("://funkplan:{password}@"), 1);
    assert!(url.contains(password), "test URL has an unexpected form: {}", l.url);
    let token = {
        let o = run(&["token", "create", "--role", "admin"], &[("DATABASE_URL", &url), ("RUST_LOG", "debug")]);
        let (out, err) = text(&o);
        assert!(o.status.success(), "{err}");
        assert!(!err.contains(password), "token create logged the password");
        out.lines().last().unwrap().trim().to_owned()
    };
    let s = Server::start(&url, &[("RUST_LOG", "debug")], l.dir.path("serve.log"));
    let auth = format!("Bearer {token}");
    let path = "/api/v1/sites/S-05111000-3";
    let (st, _, b) = http(&s.addr, "PATCH", path, &[("Authorization", &auth), ("If-Match", &etag(&s.addr, path))], Some(r#"{"status":"permitting"}"#)).unwrap();
    assert_eq!(st, 200, "{b}");
    let wrong = format!("Bearer fp_{}", "7".repeat(64));
    let (st, _, _) = http(&s.addr, "PATCH", path, &[("Authorization", &wrong), ("If-Match", "\"1\"")], Some("{}")).unwrap();
    assert_eq!(st, 401);
    let (st, _, _) = http(&s.addr, "GET", "/api/v1/municipalities/05111000", &[("Authorization", &auth)], None).unwrap();
    assert_eq!(st, 200);
    // Other commands at debug level too.
    let mut logs = vec![("serve".to_owned(), String::new())];
    for args in [vec!["recompute"], vec!["targets"], vec!["token", "list"], vec!["ingest", "sites", &l.dir.str("sites.csv"), "--dry-run"]] {
        let o = run(&args, &[("DATABASE_URL", &url), ("RUST_LOG", "debug")]);
        logs.push((args.join(" "), format!("{}{}", text(&o).0, text(&o).1)));
    }
    drop(s);
    let serve_log = std::fs::read_to_string(l.dir.path("serve.log")).unwrap();
    assert!(serve_log.to_ascii_lowercase().contains("debug"), "serve did not log at debug level: {serve_log}");
    logs[0].1 = serve_log;
    for (what, log) in &logs {
        assert!(!log.contains(password), "{what} logged the database password");
        assert!(!log.contains(&token[3..]), "{what} logged the token");
        assert!(!log.contains(&"7".repeat(64)), "{what} logged a presented (wrong) token");
    }
    let _ = json("{}");
}
