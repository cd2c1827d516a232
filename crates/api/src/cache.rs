//! Serialised responses kept in memory, keyed by URL and the data version.
//!
//! Map clients ask for the same things over and over (all 396
//! municipalities, ~2 MB; the sites in a map tile): once built in the
//! database, the bytes and their gzip and brotli forms are served from here
//! until the data changes ([`crate::version`]). A compressed form is made
//! once per entry, when a client first asks for it, off the async threads;
//! entries nobody asks compressed (one-off bbox queries of a benchmark or a
//! script) cost no compression at all. A miss is computed by one request per URL while the others
//! wait for its result, so 64 clients arriving after a change cost one
//! database query, not 64.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::BodyExt;

use crate::AppState;

/// Largest body kept; bigger answers are served but not remembered.
const MAX_ENTRY: usize = 64 << 20;
/// Total bytes (uncompressed) kept before the cache starts afresh.
const MAX_TOTAL: usize = 512 << 20;
const MAX_ENTRIES: usize = 4096;
/// Bodies smaller than this are not worth compressing.
const MIN_COMPRESS: usize = 1024;

pub(crate) struct Entry {
    version: u64,
    etag: HeaderValue,
    headers: HeaderMap,
    identity: Bytes,
    gzip: tokio::sync::OnceCell<Option<Bytes>>,
    br: tokio::sync::OnceCell<Option<Bytes>>,
}

#[derive(Default)]
pub(crate) struct ResponseCache {
    map: Mutex<HashMap<String, Arc<Entry>>>,
    total: AtomicUsize,
    /// One lock per URL being computed (single flight).
    inflight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl ResponseCache {
    fn get(&self, key: &str, version: u64) -> Option<Arc<Entry>> {
        let map = self.map.lock().ok()?;
        map.get(key).filter(|e| e.version == version).cloned()
    }

    fn gate(&self, key: &str) -> Option<Arc<tokio::sync::Mutex<()>>> {
        let mut m = self.inflight.lock().ok()?;
        Some(m.entry(key.to_owned()).or_default().clone())
    }

    fn ungate(&self, key: &str) {
        if let Ok(mut m) = self.inflight.lock() {
            m.remove(key);
        }
    }

    fn put(&self, key: String, entry: Arc<Entry>) {
        let Ok(mut map) = self.map.lock() else { return };
        let size = entry.identity.len();
        if map.len() >= MAX_ENTRIES || self.total.load(Ordering::Relaxed) + size > MAX_TOTAL {
            map.clear();
            self.total.store(0, Ordering::Relaxed);
        }
        if let Some(old) = map.insert(key, entry) {
            self.total.fetch_sub(old.identity.len(), Ordering::Relaxed);
        }
        self.total.fetch_add(size, Ordering::Relaxed);
    }
}

/// A weak validator from the bytes of a representation.
pub(crate) fn etag_of(body: &[u8]) -> HeaderValue {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut h);
    let v = format!("W/\"{:016x}{:x}\"", h.finish(), body.len());
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("W/\"0\""))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Identity,
    Gzip,
    Br,
}

/// The best encoding the client accepts (`q=0` means "not this one").
fn negotiate<'a>(values: impl IntoIterator<Item = &'a HeaderValue>) -> Encoding {
    let mut gzip = false;
    let mut br = false;
    for v in values {
        let Ok(s) = v.to_str() else { continue };
        for part in s.split(',') {
            let mut it = part.split(';');
            let name = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let refused = it.any(|p| {
                let p = p.trim();
                p.strip_prefix("q=").is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0))
            });
            if refused {
                continue;
            }
            match name.as_str() {
                "br" => br = true,
                "gzip" => gzip = true,
                "*" => {
                    br = true;
                    gzip = true;
                }
                _ => {}
            }
        }
    }
    if br {
        Encoding::Br
    } else if gzip {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

fn gzip(data: &[u8]) -> Option<Bytes> {
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(data.len() / 4), flate2::Compression::new(6));
    enc.write_all(data).ok()?;
    enc.finish().ok().map(Bytes::from)
}

fn brotli(data: &[u8]) -> Option<Bytes> {
    let mut out = Vec::with_capacity(data.len() / 5);
    let params = brotli::enc::BrotliEncoderParams { quality: 6, lgwin: 22, ..Default::default() };
    brotli::BrotliCompress(&mut std::io::Cursor::new(data), &mut out, &params).ok()?;
    Some(Bytes::from(out))
}

type Compressor = fn(&[u8]) -> Option<Bytes>;

impl Entry {
    /// The body in the best encoding the client accepts, compressing it on
    /// the blocking pool the first time that encoding is asked for.
    async fn encoded(&self, accept: &[HeaderValue]) -> (Bytes, Option<&'static str>) {
        if self.identity.len() < MIN_COMPRESS {
            return (self.identity.clone(), None);
        }
        let (cell, f, name): (_, Compressor, _) = match negotiate(accept) {
            Encoding::Identity => return (self.identity.clone(), None),
            Encoding::Br => (&self.br, brotli, "br"),
            Encoding::Gzip => (&self.gzip, gzip, "gzip"),
        };
        let data = self.identity.clone();
        let done = cell
            .get_or_init(|| async move { tokio::task::spawn_blocking(move || f(&data)).await.ok().flatten() })
            .await;
        match done {
            Some(b) => (b.clone(), Some(name)),
            None => (self.identity.clone(), None),
        }
    }

    async fn respond(&self, accept: &[HeaderValue], head: bool) -> Response {
        let (body, coding) = self.encoded(accept).await;
        let len = body.len();
        let mut resp = if head { Response::new(Body::empty()) } else { Response::new(Body::from(body)) };
        *resp.status_mut() = StatusCode::OK;
        let h = resp.headers_mut();
        h.clone_from(&self.headers);
        h.insert(header::ETAG, self.etag.clone());
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        if let Some(c) = coding {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(c));
        }
        resp
    }
}

/// Middleware for cacheable GET routes (public data only).
pub(crate) async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let head = req.method() == Method::HEAD;
    if !(req.method() == Method::GET || head) {
        return next.run(req).await;
    }
    let Some(version) = state.data_version() else {
        return next.run(req).await;
    };
    if !crate::replica::cache_may_answer(&state, &req) {
        return next.run(req).await;
    }
    // Whatever builds links is part of the key: the origin resolved from
    // `Host` and, from trusted proxies only, the forwarded headers
    // ([`crate::origin`]). Two clients share an entry only when every link
    // in it is right for both.
    let Some(origin) = req.extensions().get::<crate::origin::Origin>() else {
        return next.run(req).await;
    };
    let key = format!("{}{}", origin.base(), req.uri());
    let accept: Vec<HeaderValue> = req.headers().get_all(header::ACCEPT_ENCODING).iter().cloned().collect();
    let cache = state.cache();
    if let Some(e) = cache.get(&key, version) {
        return e.respond(&accept, head).await;
    }
    let gate = cache.gate(&key);
    let _computing = match &gate {
        Some(g) => Some(g.lock().await),
        None => None,
    };
    if let Some(e) = cache.get(&key, version) {
        return e.respond(&accept, head).await;
    }
    let resp = next.run(req).await;
    let out = match build_entry(resp, version).await {
        Ok(entry) => {
            if entry.identity.len() <= MAX_ENTRY {
                cache.put(key.clone(), entry.clone());
            }
            entry.respond(&accept, head).await
        }
        Err(resp) => resp,
    };
    cache.ungate(&key);
    out
}

/// Buffer a fresh 200 response into an entry; anything else is handed
/// back untouched.
async fn build_entry(resp: Response, version: u64) -> Result<Arc<Entry>, Response> {
    if resp.status() != StatusCode::OK || resp.headers().contains_key(header::CONTENT_ENCODING) {
        return Err(resp);
    }
    let (parts, body) = resp.into_parts();
    let bytes = match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => return Err(crate::ApiError::Internal(format!("reading a response body: {e}")).into_response()),
    };
    let mut headers = parts.headers;
    headers.remove(header::CONTENT_LENGTH);
    let etag = headers.remove(header::ETAG).unwrap_or_else(|| etag_of(&bytes));
    Ok(Arc::new(Entry {
        version,
        etag,
        headers,
        identity: bytes,
        gzip: tokio::sync::OnceCell::new(),
        br: tokio::sync::OnceCell::new(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_prefers_brotli_and_honours_q0() {
        assert!(negotiate(&[HeaderValue::from_static("gzip, deflate, br")]) == Encoding::Br);
        assert!(negotiate(&[HeaderValue::from_static("gzip, br;q=0")]) == Encoding::Gzip);
        assert!(negotiate(&[HeaderValue::from_static("identity")]) == Encoding::Identity);
        assert!(negotiate(&[HeaderValue::from_static("gzip"), HeaderValue::from_static("br")]) == Encoding::Br);
    }

    #[test]
    fn compressed_forms_round_trip() {
        use std::io::Read;
        let data = "{\"type\":\"FeatureCollection\"}".repeat(200);
        let gz = gzip(data.as_bytes()).unwrap();
        let mut out = String::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut out).unwrap();
        assert_eq!(out, data);
        let br = brotli(data.as_bytes()).unwrap();
        let mut out = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut out).unwrap();
        assert_eq!(out, data.as_bytes());
        assert!(br.len() < data.len() / 10);
    }
}
