//! HTML for the OGC API (issue 18 item 4): `f=html`, and a browser's
//! `Accept: text/html`, on the landing page, the conformance classes, the
//! collections, a collection, its items and one item — simple pages in
//! German, rendered on the server, readable without JavaScript, linking to
//! the web map.
//!
//! Why a layer around the OGC routes rather than a branch in each handler:
//! the pages show exactly what the JSON says, so the layer asks the handler
//! for JSON (the request goes on with `f=json`; the response cache keeps
//! the JSON) and renders that. Errors pass through as problem+json.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// Largest JSON answer rendered as a page (a page of 10,000 features is
/// about this size; larger ones are a download, not a page to read).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// Whether the request asks for HTML: `f=html`, or no `f` and an `Accept`
/// that names HTML and no JSON (what browsers send; GDAL, OWSLib and
/// QGIS ask for JSON).
fn wants_html(req: &Request) -> bool {
    let f = req.uri().query().and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "f").map(|(_, v)| v.into_owned()));
    match f.as_deref() {
        Some("html") => true,
        Some(_) => false,
        None => req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html") && !a.contains("json")),
    }
}

/// The URI with `f=json` in place of any `f`.
fn as_json(uri: &Uri) -> Option<Uri> {
    let mut pairs: Vec<(String, String)> = uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().filter(|(k, _)| k != "f").collect())
        .unwrap_or_default();
    pairs.push(("f".into(), "json".into()));
    let q: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    format!("{}?{q}", uri.path()).parse().ok()
}

/// The middleware: HTML where asked for, else the request as it is.
pub(crate) async fn layer(mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if !(path == "/ogc" || path.starts_with("/ogc/")) || !wants_html(&req) {
        return next.run(req).await;
    }
    let Some(uri) = as_json(req.uri()) else { return next.run(req).await };
    *req.uri_mut() = uri;
    // The JSON in full, uncompressed (the page is compressed on its way out).
    req.headers_mut().remove(header::ACCEPT_ENCODING);
    req.headers_mut().insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    let resp = next.run(req).await;
    if resp.status() != StatusCode::OK {
        return resp;
    }
    let Ok(bytes) = axum::body::to_bytes(resp.into_body(), MAX_BODY).await else {
        return crate::ApiError::BadRequest("the answer is too large to show as a page; use f=json or a smaller limit".into()).into_response();
    };
    let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
        return crate::ApiError::Internal("the OGC answer is not JSON".into()).into_response();
    };
    let html = page(&path, &v);
    let mut r = Response::new(Body::from(html));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// Text made safe for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// `href` as the HTML page of the same resource (`f=html`), kept relative
/// to this server when it points here.
fn html_href(href: &str) -> String {
    let (base, query) = href.split_once('?').unwrap_or((href, ""));
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().filter(|(k, _)| k != "f").collect();
    pairs.push(("f".into(), "html".into()));
    let q: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    format!("{base}?{q}")
}

/// A property value as a table cell's text.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "–".into(),
        Value::String(s) => esc(s),
        Value::Bool(b) => (if *b { "ja" } else { "nein" }).into(),
        Value::Number(n) => esc(&n.to_string()),
        Value::Array(a) => esc(&a.iter().map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned)).collect::<Vec<_>>().join(", ")),
        Value::Object(_) => esc(&v.to_string()),
    }
}

/// The links of a JSON answer as a list: HTML where the target has a page.
fn links(v: &Value) -> String {
    let Some(ls) = v["links"].as_array() else { return String::new() };
    let mut o = String::from("<ul class=\"links\">");
    for l in ls {
        let href = l["href"].as_str().unwrap_or("");
        let ty = l["type"].as_str().unwrap_or("");
        let title = l["title"].as_str().unwrap_or(l["rel"].as_str().unwrap_or(href));
        let rel = l["rel"].as_str().unwrap_or("");
        let ogc = href.contains("/ogc");
        o.push_str(&format!(
            "<li><a href=\"{}\">{}</a> <span class=\"muted\">({}{})</span></li>",
            esc(href),
            esc(title),
            esc(rel),
            if ty.is_empty() { String::new() } else { format!(", {}", esc(ty)) }
        ));
        if ogc && (ty.contains("json") || ty.is_empty()) && rel != "alternate" {
            o.push_str(&format!("<li><a href=\"{}\">{} als Seite</a></li>", esc(&html_href(href)), esc(title)));
        }
    }
    o.push_str("</ul>");
    o
}

/// Where a feature is on the web map.
fn map_link(props: &serde_json::Map<String, Value>) -> String {
    match props.get("ags").and_then(Value::as_str) {
        Some(ags) if ags.len() == 8 => format!("<a href=\"/#/gemeinde/{0}\">Gemeinde {0} auf der Karte</a>", esc(ags)),
        _ => "<a href=\"/#/karte\">Zur Karte</a>".into(),
    }
}

/// A table of features: id and every property (in the first feature's key
/// order, then any others), each id linking to the item's page.
fn feature_table(features: &[Value], items_path: &str) -> String {
    let mut keys: Vec<String> = Vec::new();
    for f in features {
        if let Some(p) = f["properties"].as_object() {
            for k in p.keys() {
                if !keys.contains(k) {
                    keys.push(k.clone());
                }
            }
        }
    }
    let mut o = String::from("<div class=\"scroll\"><table><thead><tr><th scope=\"col\">id</th>");
    for k in &keys {
        o.push_str(&format!("<th scope=\"col\">{}</th>", esc(k)));
    }
    o.push_str("</tr></thead><tbody>");
    for f in features {
        let id = match &f["id"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let href = format!("{items_path}/{}?f=html", form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>());
        o.push_str(&format!("<tr><th scope=\"row\"><a href=\"{}\">{}</a></th>", esc(&href), esc(&id)));
        for k in &keys {
            o.push_str(&format!("<td>{}</td>", cell(&f["properties"][k.as_str()])));
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table></div>");
    o
}

/// The page for the OGC resource at `path` whose JSON is `v`.
pub(crate) fn page(path: &str, v: &Value) -> String {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (title, body) = match parts.as_slice() {
        ["ogc"] => (
            v["title"].as_str().unwrap_or("OGC API").to_owned(),
            format!(
                "<p>{}</p><p>Die Daten als Karte: <a href=\"/\">Funkplan NRW</a>. Sammlungen: <a href=\"/ogc/collections?f=html\">alle Sammlungen</a>.</p><h2>Verweise</h2>{}",
                esc(v["description"].as_str().unwrap_or("")),
                links(v)
            ),
        ),
        ["ogc", "conformance"] => (
            "Konformitätsklassen".to_owned(),
            format!(
                "<ul>{}</ul>",
                v["conformsTo"].as_array().map(|a| a.iter().filter_map(Value::as_str).map(|c| format!("<li><code>{}</code></li>", esc(c))).collect::<String>()).unwrap_or_default()
            ),
        ),
        ["ogc", "collections"] => {
            let mut o = String::from("<table><thead><tr><th scope=\"col\">Sammlung</th><th scope=\"col\">Beschreibung</th><th scope=\"col\">Objekte</th></tr></thead><tbody>");
            for c in v["collections"].as_array().into_iter().flatten() {
                let id = c["id"].as_str().unwrap_or("");
                o.push_str(&format!(
                    "<tr><th scope=\"row\"><a href=\"/ogc/collections/{0}?f=html\">{1}</a></th><td>{2}</td><td><a href=\"/ogc/collections/{0}/items?f=html\">ansehen</a> · <a href=\"/ogc/collections/{0}/items\">GeoJSON</a></td></tr>",
                    esc(id),
                    esc(c["title"].as_str().unwrap_or(id)),
                    esc(c["description"].as_str().unwrap_or(""))
                ));
            }
            o.push_str("</tbody></table>");
            ("Sammlungen".to_owned(), o)
        }
        ["ogc", "collections", id] => (
            v["title"].as_str().unwrap_or(id).to_owned(),
            format!(
                "<p>{}</p><p><a href=\"/ogc/collections/{}/items?f=html\">Objekte ansehen</a></p><p class=\"muted\">Räumliche Ausdehnung (CRS84): {}</p><p class=\"muted\">{}</p><h2>Verweise</h2>{}",
                esc(v["description"].as_str().unwrap_or("")),
                esc(id),
                esc(&v["extent"]["spatial"]["bbox"].to_string()),
                esc(v["attribution"].as_str().unwrap_or("")),
                links(v)
            ),
        ),
        ["ogc", "collections", id, "items"] => {
            let features = v["features"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            let nav: String = v["links"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|l| matches!(l["rel"].as_str(), Some("next" | "prev")))
                .map(|l| {
                    let label = if l["rel"] == "next" { "nächste Seite →" } else { "← vorige Seite" };
                    format!("<a href=\"{}\">{label}</a> ", esc(&html_href(l["href"].as_str().unwrap_or(""))))
                })
                .collect();
            (
                format!("Objekte der Sammlung {id}"),
                format!(
                    "<p>{} passende Objekte, {} auf dieser Seite. <a href=\"/ogc/collections/{}?f=html\">Zur Sammlung</a> · <a href=\"/#/karte\">Zur Karte</a></p><p class=\"nav\">{nav}</p>{}<p class=\"nav\">{nav}</p>",
                    cell(&v["numberMatched"]),
                    cell(&v["numberReturned"]),
                    esc(id),
                    feature_table(features, &format!("/ogc/collections/{id}/items"))
                ),
            )
        }
        ["ogc", "collections", id, "items", fid] => {
            let empty = serde_json::Map::new();
            let props = v["properties"].as_object().unwrap_or(&empty);
            let mut o = format!("<p>{} · <a href=\"/ogc/collections/{}/items?f=html\">alle Objekte der Sammlung</a></p><table><tbody>", map_link(props), esc(id));
            for (k, val) in props {
                o.push_str(&format!("<tr><th scope=\"row\">{}</th><td>{}</td></tr>", esc(k), cell(val)));
            }
            let g = &v["geometry"];
            o.push_str(&format!("<tr><th scope=\"row\">Geometrie</th><td>{}</td></tr></tbody></table>", cell(&g["type"])));
            (format!("{id} / {}", percent_decode(fid)), o)
        }
        _ => ("OGC API".to_owned(), format!("<pre>{}</pre>", esc(&serde_json::to_string_pretty(v).unwrap_or_default()))),
    };
    format!(
        "<!doctype html>\n<html lang=\"de\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} – Funkplan NRW</title><style>{CSS}</style></head><body><header><a href=\"/\">Funkplan NRW</a> · <a href=\"/ogc?f=html\">OGC API</a></header>\
         <main><h1>{t}</h1>{body}<p class=\"muted\">Auch als <a href=\"?f=json\">JSON</a>.</p></main></body></html>\n",
        t = esc(&title)
    )
}

fn percent_decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_else(|| s.to_owned())
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1b1f24}header{background:#0b3d91;color:#fff;padding:.6rem 1rem}\
header a{color:#fff}main{padding:1rem;max-width:80rem}table{border-collapse:collapse;font-size:.9rem}th,td{border-bottom:1px solid #ddd;\
padding:.25rem .5rem;text-align:left;vertical-align:top}.scroll{overflow-x:auto}.muted{color:#5a6270}a{color:#0b5cad}";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn items_become_a_table_with_paging_and_item_links() {
        let v = json!({
            "type": "FeatureCollection", "numberMatched": 3, "numberReturned": 1,
            "features": [{"type": "Feature", "id": "S<1>", "geometry": null, "properties": {"site_id": "S<1>", "status": "on_air", "technologies": ["lte", "5g"]}}],
            "links": [{"href": "http://x/ogc/collections/sites/items?limit=1&offset=1&f=json", "rel": "next", "type": "application/geo+json"}]
        });
        let h = page("/ogc/collections/sites/items", &v);
        assert!(h.contains("<html lang=\"de\">"));
        assert!(h.contains("3 passende Objekte, 1 auf dieser Seite"));
        assert!(h.contains("<td>S&lt;1&gt;</td>"), "escaped: {h}");
        assert!(h.contains("href=\"/ogc/collections/sites/items/S%3C1%3E?f=html\""), "{h}");
        assert!(h.contains("<td>lte, 5g</td>"));
        assert!(h.contains("href=\"http://x/ogc/collections/sites/items?limit=1&amp;offset=1&amp;f=html\">nächste Seite"), "{h}");
        assert!(!h.contains("<script"));
    }

    #[test]
    fn an_item_links_its_municipality_on_the_map() {
        let v = json!({"type": "Feature", "id": "05111000", "geometry": {"type": "MultiPolygon"}, "properties": {"ags": "05111000", "name": "Düsseldorf", "synthetic": false}});
        let h = page("/ogc/collections/municipalities/items/05111000", &v);
        assert!(h.contains("href=\"/#/gemeinde/05111000\""));
        assert!(h.contains("<th scope=\"row\">synthetic</th><td>nein</td>"));
        assert!(h.contains("MultiPolygon"));
    }

    #[test]
    fn the_f_parameter_becomes_json_and_html_links_keep_the_query() {
        let u: Uri = "/ogc/collections?f=html&x=1".parse().unwrap();
        assert_eq!(as_json(&u).unwrap().to_string(), "/ogc/collections?x=1&f=json");
        assert_eq!(html_href("http://h/ogc/collections/a/items?limit=5&f=json"), "http://h/ogc/collections/a/items?limit=5&f=html");
    }
}
