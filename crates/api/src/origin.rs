//! The public origin of a request: the scheme, host and path prefix that the
//! absolute links in an answer (`self`, `next`, OGC `links`) start with, and
//! the client address that rate limits count.
//!
//! Behind a reverse proxy the origin a client used is only known from the
//! proxy's `Forwarded` / `X-Forwarded-*` headers. Anyone can send those
//! headers, so they are believed only from the configured proxies
//! (`OriginConfig::trusted_proxies`, default none); a configured public URL
//! overrides them all. Without that rule one request with
//! `X-Forwarded-Host: attacker.test` put links to the attacker into the
//! response cache for every later client (issue 20). The resolved origin is
//! also part of the cache key (`crate::cache`), so whatever a trusted
//! proxy says only ever reaches the clients behind the same origin.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

use crate::{ApiError, AppState};

/// Wrong origin settings, said at start-up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OriginError {
    #[error("public URL {0:?} must be http:// or https://, a host, and optionally a path prefix (no query or fragment)")]
    PublicUrl(String),
    #[error("trusted proxy {0:?} is neither an IP address nor a network in CIDR form (e.g. 10.0.0.0/8)")]
    Proxy(String),
}

/// How the public origin is found (flags `--public-url`,
/// `--trusted-proxies` of `funkplan serve`).
#[derive(Debug, Clone, Default)]
pub struct OriginConfig {
    /// `scheme://host[:port][/prefix]` without a trailing slash.
    public_url: Option<String>,
    trusted_proxies: Vec<IpNet>,
}

impl OriginConfig {
    /// `public_url`: every link starts with it and forwarded headers are
    /// ignored. `trusted_proxies`: peers whose forwarded headers are
    /// believed when no public URL is set.
    pub fn new(public_url: Option<&str>, trusted_proxies: Vec<IpNet>) -> Result<Self, OriginError> {
        let public_url = match public_url.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(u) => Some(parse_public_url(u).ok_or_else(|| OriginError::PublicUrl(u.to_owned()))?),
        };
        Ok(Self { public_url, trusted_proxies })
    }

    /// A comma-separated list of addresses and CIDR networks.
    pub fn parse_proxies(list: &str) -> Result<Vec<IpNet>, OriginError> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| OriginError::Proxy(s.to_owned()))
            })
            .collect()
    }

    fn trusts(&self, peer: Option<IpAddr>) -> bool {
        peer.is_some_and(|ip| self.trusted_proxies.iter().any(|n| n.contains(&ip)))
    }

    /// The origin of a request from `peer` with `headers`.
    #[must_use]
    pub fn resolve(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Origin {
        let trusted = self.trusts(peer);
        let client = if trusted { forwarded_client(headers, |ip| self.trusts(Some(ip))).or(peer) } else { peer };
        if let Some(base) = &self.public_url {
            return Origin { base: Arc::from(base.as_str()), client };
        }
        let direct_host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).filter(|h| valid_host(h));
        let (mut proto, mut host, mut prefix) = ("http", direct_host, "");
        if trusted {
            let fwd = forwarded_first(headers);
            let x_host = first_value(headers, "x-forwarded-host");
            let x_proto = first_value(headers, "x-forwarded-proto");
            if let Some(h) = fwd.host.or(x_host).filter(|h| valid_host(h)) {
                host = Some(h);
            }
            match fwd.proto.or(x_proto) {
                Some(p) if p.eq_ignore_ascii_case("https") => proto = "https",
                Some(p) if p.eq_ignore_ascii_case("http") => proto = "http",
                _ => {}
            }
            if let Some(p) = first_value(headers, "x-forwarded-prefix").and_then(valid_prefix) {
                prefix = p;
            }
        }
        let base = format!("{proto}://{}{prefix}", host.unwrap_or("localhost"));
        Origin { base: Arc::from(base), client }
    }
}

/// Where a request came from, as far as links and rate limits go.
#[derive(Debug, Clone)]
pub struct Origin {
    base: Arc<str>,
    client: Option<IpAddr>,
}

impl Origin {
    /// `scheme://host[:port][/prefix]`, no trailing slash: links are
    /// `format!("{}/ogc/…", origin.base())`.
    #[must_use]
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The client's address: the peer, or the address a trusted proxy
    /// forwarded for.
    #[must_use]
    pub fn client(&self) -> Option<IpAddr> {
        self.client
    }
}

/// Resolve the origin once per request and keep it in the extensions,
/// where handlers, the response cache and the authentication find it.
pub(crate) async fn attach(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let origin = state.origin_config().resolve(peer, req.headers());
    req.extensions_mut().insert(origin);
    next.run(req).await
}

impl<S: Send + Sync> FromRequestParts<S> for Origin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Always there behind `router`; a bare handler test without the
        // layer gets the untrusting default.
        Ok(parts.extensions.get::<Self>().cloned().unwrap_or_else(|| {
            let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
            OriginConfig::default().resolve(peer, &parts.headers)
        }))
    }
}

/// A host (and port) safe to put into a URL: no user info, path or space.
fn valid_host(h: &str) -> bool {
    !h.is_empty() && h.len() <= 255 && h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]_".contains(c))
}

/// A path prefix such as `/funkplan`: starts with `/`, safe characters,
/// no `..` segment; the trailing slash dropped.
fn valid_prefix(p: &str) -> Option<&str> {
    let p = p.trim_end_matches('/');
    let ok = p.starts_with('/')
        && p.len() <= 200
        && !p.contains("//")
        && p.split('/').all(|s| s != "..")
        && p.chars().all(|c| c.is_ascii_alphanumeric() || "/-._~".contains(c));
    ok.then_some(p)
}

fn parse_public_url(u: &str) -> Option<String> {
    let (scheme, rest) = u.split_once("://")?;
    if !(scheme == "http" || scheme == "https") || rest.contains(['?', '#', '@']) {
        return None;
    }
    let (host, path) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
    if !valid_host(host) {
        return None;
    }
    let prefix = if path.trim_end_matches('/').is_empty() { String::new() } else { valid_prefix(&format!("/{path}"))?.to_owned() };
    Some(format!("{scheme}://{host}{prefix}"))
}

/// The first of a comma-separated header's values (the one the outermost
/// proxy saw), trimmed.
fn first_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let v = headers.get(name)?.to_str().ok()?;
    v.split(',').next().map(str::trim).filter(|s| !s.is_empty())
}

#[derive(Default)]
struct ForwardedElement<'a> {
    host: Option<&'a str>,
    proto: Option<&'a str>,
}

/// `host` and `proto` of the first element of RFC 7239 `Forwarded`.
fn forwarded_first(headers: &HeaderMap) -> ForwardedElement<'_> {
    let mut out = ForwardedElement::default();
    let Some(first) = headers.get("forwarded").and_then(|v| v.to_str().ok()).and_then(|v| v.split(',').next()) else {
        return out;
    };
    for pair in first.split(';') {
        let Some((k, v)) = pair.split_once('=') else { continue };
        let v = v.trim().trim_matches('"');
        match k.trim().to_ascii_lowercase().as_str() {
            "host" => out.host = Some(v),
            "proto" => out.proto = Some(v),
            _ => {}
        }
    }
    out
}

/// The client behind a chain of trusted proxies: the right-most address of
/// `X-Forwarded-For` (or `Forwarded: for=`) that is not itself trusted.
fn forwarded_client(headers: &HeaderMap, trusted: impl Fn(IpAddr) -> bool) -> Option<IpAddr> {
    let parse = |s: &str| -> Option<IpAddr> {
        let s = s.trim().trim_matches('"');
        let s = s.strip_prefix('[').map_or(s, |r| r.split(']').next().unwrap_or(r));
        s.parse::<IpAddr>().ok().or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
    };
    let mut chain: Vec<IpAddr> = Vec::new();
    if let Some(v) = headers.get("forwarded").and_then(|v| v.to_str().ok()) {
        for el in v.split(',') {
            for pair in el.split(';') {
                if let Some((k, val)) = pair.split_once('=') {
                    if k.trim().eq_ignore_ascii_case("for") {
                        chain.extend(parse(val));
                    }
                }
            }
        }
    } else if let Some(v) = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        chain.extend(v.split(',').filter_map(parse));
    }
    chain.into_iter().rev().find(|ip| !trusted(*ip))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    const PEER: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 7)));
    const PROXY: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 1, 2, 3)));

    #[test]
    fn forwarded_headers_from_anyone_are_ignored() {
        let c = OriginConfig::default();
        let h = headers(&[
            ("host", "funkplan.example"),
            ("x-forwarded-host", "attacker.test"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-prefix", "/evil"),
            ("forwarded", "host=attacker.test;proto=https"),
            ("x-forwarded-for", "1.2.3.4"),
        ]);
        let o = c.resolve(PEER, &h);
        assert_eq!(o.base(), "http://funkplan.example");
        assert_eq!(o.client(), PEER);
    }

    #[test]
    fn a_trusted_proxy_sets_host_proto_prefix_and_client() {
        let c = OriginConfig::new(None, OriginConfig::parse_proxies("10.0.0.0/8, ::1").unwrap()).unwrap();
        let h = headers(&[
            ("host", "internal:8080"),
            ("x-forwarded-host", "karte.nrw.example, other"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-prefix", "/funkplan/"),
            ("x-forwarded-for", "198.51.100.9, 10.9.9.9"),
        ]);
        let o = c.resolve(PROXY, &h);
        assert_eq!(o.base(), "https://karte.nrw.example/funkplan");
        assert_eq!(o.client(), Some("198.51.100.9".parse().unwrap()));
        // RFC 7239 wins over X-Forwarded-*.
        let h = headers(&[("host", "internal"), ("forwarded", "for=\"[2001:db8::1]:4711\";host=a.example;proto=https")]);
        let o = c.resolve(PROXY, &h);
        assert_eq!(o.base(), "https://a.example");
        assert_eq!(o.client(), Some("2001:db8::1".parse().unwrap()));
        // The same headers from elsewhere count for nothing.
        assert_eq!(c.resolve(PEER, &h).base(), "http://internal");
    }

    #[test]
    fn unsafe_forwarded_values_are_dropped() {
        let c = OriginConfig::new(None, OriginConfig::parse_proxies("10.1.2.3").unwrap()).unwrap();
        let h = headers(&[
            ("host", "ok.example"),
            ("x-forwarded-host", "evil.example/path?x"),
            ("x-forwarded-prefix", "/../admin"),
            ("x-forwarded-proto", "gopher"),
        ]);
        assert_eq!(c.resolve(PROXY, &h).base(), "http://ok.example");
    }

    #[test]
    fn a_public_url_overrides_everything() {
        let c = OriginConfig::new(Some("https://funkplan.nrw.example/app/"), vec![]).unwrap();
        let h = headers(&[("host", "attacker.test"), ("x-forwarded-host", "attacker.test")]);
        assert_eq!(c.resolve(PEER, &h).base(), "https://funkplan.nrw.example/app");
        for bad in ["ftp://x", "https://", "https://a.example/?q", "https://user@a.example", "a.example"] {
            assert!(OriginConfig::new(Some(bad), vec![]).is_err(), "{bad}");
        }
        assert!(OriginConfig::parse_proxies("10.0.0.0/33").is_err());
        assert!(OriginConfig::parse_proxies("localhost").is_err());
    }

    #[test]
    fn a_bad_host_header_falls_back_to_localhost() {
        let o = OriginConfig::default().resolve(PEER, &headers(&[("host", "a b")]));
        assert_eq!(o.base(), "http://localhost");
    }
}
