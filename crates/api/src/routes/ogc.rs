//! OGC API – Features, Part 1 (Core, GeoJSON, OpenAPI 3.0) and Part 2
//! (CRS: CRS84 and EPSG:25832) under `/ogc`.
//!
//! Features are serialised by PostgreSQL (`ST_AsGeoJSON`, one text per
//! feature joined with `string_agg`); Rust only wraps the joined text with
//! the collection's counts and links, so no per-request tree of the
//! features is ever built. Paging is by natural id, so `next` links visit
//! every feature exactly once.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use funkplan_db::Error as DbError;
use serde_json::{json, Value};
use tokio_postgres::types::ToSql;

use crate::http::{ApiPath, QueryPairs};
use crate::origin::Origin;
use crate::openapi::schema;
use crate::{ApiError, ApiResult, AppState};

pub(crate) const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
pub(crate) const EPSG25832: &str = "http://www.opengis.net/def/crs/EPSG/0/25832";
const GEOJSON: &str = "application/geo+json";
const JSON: &str = "application/json";

const CONFORMANCE: [&str; 5] = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
];

/// How a property filter compares.
#[derive(Clone, Copy)]
enum Match {
    /// Column equals one of the comma-separated values.
    Eq,
    /// Array column contains the value.
    Contains,
}

/// One collection: where its rows come from and how they become features.
struct Collection {
    id: &'static str,
    title: &'static str,
    description: &'static str,
    /// FROM clause.
    from: &'static str,
    /// Natural id (also the sort key for paging).
    id_expr: &'static str,
    /// Geometry in EPSG:25832 used for output.
    geom: &'static str,
    /// Geometry for `?geometry=full`, where output is simplified by default.
    geom_full: Option<&'static str>,
    /// Geometry the bbox filter tests (indexed).
    geom_filter: &'static str,
    /// JSON object of the properties.
    props: &'static str,
    /// Instant of a feature for `datetime`, as timestamptz.
    datetime: &'static str,
    /// Property filters: query name, SQL expression, comparison.
    filters: &'static [(&'static str, &'static str, Match)],
}

const MUNICIPALITY_FROM: &str = "municipality t \
    LEFT JOIN coverage_result c5 ON c5.ags = t.ags AND NOT c5.scenario AND c5.technology = '5g' \
    LEFT JOIN coverage_result cl ON cl.ags = t.ags AND NOT cl.scenario AND cl.technology = 'lte' \
    LEFT JOIN coverage_result s5 ON s5.ags = t.ags AND s5.scenario AND s5.technology = '5g' \
    LEFT JOIN coverage_result sl ON sl.ags = t.ags AND sl.scenario AND sl.technology = 'lte'";

/// FROM clause of an area collection, one row per area: municipalities
/// grouped by the first `$len` AGS digits (outline = their union) with the
/// engine's results summed the same way (counts summed, shares divided
/// once, as `sql/area_figures.sql` does).
macro_rules! area_from {
    ($len:literal, $name_kind:literal) => {
        concat!(
            "(SELECT g.*, f.* FROM \
               (SELECT substr(m.ags, 1, ", $len, ") AS ags, ST_Multi(ST_Union(m.geom)) AS geom, count(*) AS municipalities, \
                  sum(m.area_km2) AS area_km2, bool_and(m.synthetic) AS synthetic, ", $name_kind, " \
                FROM municipality m GROUP BY 1) g \
             LEFT JOIN \
               (SELECT substr(ags, 1, ", $len, ") AS fags, \
                  sum(households) FILTER (WHERE NOT scenario AND technology = 'lte') AS households, \
                  sum(households_covered) FILTER (WHERE NOT scenario AND technology = '5g') \
                    / nullif(sum(households) FILTER (WHERE NOT scenario AND technology = '5g'), 0) AS hs5, \
                  sum(cells_covered) FILTER (WHERE NOT scenario AND technology = '5g')::float8 \
                    / nullif(sum(cells) FILTER (WHERE NOT scenario AND technology = '5g'), 0) AS as5, \
                  sum(households_covered) FILTER (WHERE NOT scenario AND technology = 'lte') \
                    / nullif(sum(households) FILTER (WHERE NOT scenario AND technology = 'lte'), 0) AS hsl, \
                  sum(cells_covered) FILTER (WHERE NOT scenario AND technology = 'lte')::float8 \
                    / nullif(sum(cells) FILTER (WHERE NOT scenario AND technology = 'lte'), 0) AS asl, \
                  sum(households_covered) FILTER (WHERE scenario AND technology = '5g') \
                    / nullif(sum(households) FILTER (WHERE scenario AND technology = '5g'), 0) AS hs5s, \
                  sum(cells_covered) FILTER (WHERE scenario AND technology = '5g')::float8 \
                    / nullif(sum(cells) FILTER (WHERE scenario AND technology = '5g'), 0) AS as5s, \
                  sum(households_covered) FILTER (WHERE scenario AND technology = 'lte') \
                    / nullif(sum(households) FILTER (WHERE scenario AND technology = 'lte'), 0) AS hsls, \
                  sum(dead_cells) FILTER (WHERE NOT scenario AND technology = 'lte') * 0.01 AS dead_km2, \
                  min(source) FILTER (WHERE NOT scenario) AS source, \
                  max(computed_at) FILTER (WHERE NOT scenario) AS computed_at \
                FROM coverage_result GROUP BY 1) f ON f.fags = g.ags) t"
        )
    };
}

/// Properties of an area collection's features (as the municipalities'
/// collection names them).
const AREA_PROPS: &str = "json_build_object('ags', t.ags, 'name', t.name, 'kind', t.kind, \
    'municipalities', t.municipalities, 'area_km2', round(t.area_km2::numeric, 3)::float8, \
    'households', round(t.households::numeric, 1)::float8, \
    'household_share_5g', round(t.hs5::numeric, 6)::float8, 'area_share_5g', round(t.as5::numeric, 6)::float8, \
    'household_share_lte', round(t.hsl::numeric, 6)::float8, 'area_share_lte', round(t.asl::numeric, 6)::float8, \
    'household_share_5g_scenario', round(t.hs5s::numeric, 6)::float8, 'area_share_5g_scenario', round(t.as5s::numeric, 6)::float8, \
    'household_share_lte_scenario', round(t.hsls::numeric, 6)::float8, \
    'dead_spot_area_km2', round(t.dead_km2::numeric, 2)::float8, \
    'source', t.source, 'synthetic', t.synthetic, 'computed_at', t.computed_at)";

const COLLECTIONS: [Collection; 6] = [
    Collection {
        id: "municipalities",
        title: "Gemeinden (municipalities) with coverage",
        description: "NRW municipalities with their current 5G and LTE coverage (shares 0..1 of households and \
            area, LTE dead and grey spot area in km²), the scenario shares (`*_scenario`: as if every planned measure \
            were completed) and whether the data is synthetic. Geometry simplified to 20 m; ?geometry=full for the original. \
            datetime filters on computed_at.",
        from: MUNICIPALITY_FROM,
        id_expr: "t.ags",
        geom: "t.geom_simple",
        geom_full: Some("t.geom"),
        geom_filter: "t.geom",
        props: "json_build_object('ags', t.ags, 'name', t.name, 'district', t.district, 'kind', t.kind, \
            'population', t.population, \
            'households', round(coalesce(cl.households, c5.households, t.households)::numeric, 1)::float8, \
            'area_km2', round(t.area_km2::numeric, 3)::float8, \
            'households_5g', round(c5.households_covered::numeric, 1)::float8, \
            'household_share_5g', round((c5.households_covered / nullif(c5.households, 0))::numeric, 6)::float8, \
            'area_share_5g', round((c5.cells_covered::float8 / nullif(c5.cells, 0))::numeric, 6)::float8, \
            'households_lte', round(cl.households_covered::numeric, 1)::float8, \
            'household_share_lte', round((cl.households_covered / nullif(cl.households, 0))::numeric, 6)::float8, \
            'area_share_lte', round((cl.cells_covered::float8 / nullif(cl.cells, 0))::numeric, 6)::float8, \
            'household_share_5g_scenario', round((s5.households_covered / nullif(s5.households, 0))::numeric, 6)::float8, \
            'area_share_5g_scenario', round((s5.cells_covered::float8 / nullif(s5.cells, 0))::numeric, 6)::float8, \
            'household_share_lte_scenario', round((sl.households_covered / nullif(sl.households, 0))::numeric, 6)::float8, \
            'area_share_lte_scenario', round((sl.cells_covered::float8 / nullif(sl.cells, 0))::numeric, 6)::float8, \
            'dead_spot_area_km2', round((cl.dead_cells * 0.01)::numeric, 2)::float8, \
            'grey_spot_area_km2', round((cl.grey_cells * 0.01)::numeric, 2)::float8, \
            'source', coalesce(cl.source, c5.source), 'synthetic', t.synthetic, \
            'computed_at', coalesce(cl.computed_at, c5.computed_at))",
        datetime: "coalesce(cl.computed_at, c5.computed_at)",
        filters: &[("ags", "t.ags", Match::Eq), ("name", "t.name", Match::Eq), ("district", "t.district", Match::Eq), ("kind", "t.kind", Match::Eq)],
    },
    Collection {
        id: "sites",
        title: "Mobilfunkstandorte (mobile sites)",
        description: "Mobile sites by operator and lifecycle status (planned, permitting, construction, on_air, \
            decommissioned) with their technologies on air. datetime filters on on_air_date.",
        from: "site t",
        id_expr: "t.site_id",
        geom: "t.geom",
        geom_full: None,
        geom_filter: "t.geom",
        props: "json_build_object('site_id', t.site_id, 'operator', t.operator_id, 'status', t.status, \
            'technologies', t.technologies, 'planned_date', t.planned_date, 'on_air_date', t.on_air_date, 'ags', t.ags)",
        datetime: "(t.on_air_date::timestamp AT TIME ZONE 'UTC')",
        filters: &[
            ("operator", "t.operator_id", Match::Eq),
            ("status", "t.status", Match::Eq),
            ("ags", "t.ags", Match::Eq),
            ("technology", "t.technologies", Match::Contains),
        ],
    },
    Collection {
        id: "measures",
        title: "Ausbaumaßnahmen (build measures)",
        description: "Build measures (5g_upgrade, lte_new_site, lte_upgrade) at the point of their site. datetime \
            filters on completed_date, else planned_date.",
        from: "measure t JOIN site s ON s.site_id = t.site_id",
        id_expr: "t.measure_id",
        geom: "s.geom",
        geom_full: None,
        geom_filter: "s.geom",
        props: "json_build_object('measure_id', t.measure_id, 'site_id', t.site_id, 'kind', t.kind, 'status', t.status, \
            'planned_date', t.planned_date, 'completed_date', t.completed_date, 'operator', s.operator_id, 'ags', s.ags)",
        datetime: "(coalesce(t.completed_date, t.planned_date)::timestamp AT TIME ZONE 'UTC')",
        filters: &[
            ("kind", "t.kind", Match::Eq),
            ("status", "t.status", Match::Eq),
            ("site_id", "t.site_id", Match::Eq),
            ("operator", "s.operator_id", Match::Eq),
            ("ags", "s.ags", Match::Eq),
        ],
    },
    Collection {
        id: "dead-spots",
        title: "LTE-Funklöcher (LTE dead spots)",
        description: "Connected areas of 100 m cells with no LTE from any operator, per municipality. datetime \
            filters on computed_at.",
        from: "dead_spot t",
        id_expr: "t.id",
        geom: "t.geom",
        geom_full: None,
        geom_filter: "t.geom",
        props: "json_build_object('ags', t.ags, 'cells', t.cells, 'area_km2', round(t.area_km2::numeric, 4)::float8, \
            'computed_at', t.computed_at)",
        datetime: "t.computed_at",
        filters: &[("ags", "t.ags", Match::Eq)],
    },
    Collection {
        id: "districts",
        title: "Kreise und kreisfreie Städte (districts) with coverage",
        description: "The 53 districts of NRW (first 5 AGS digits) with the coverage of their municipalities summed \
            (shares 0..1 of households and area, LTE dead spot area in km², scenario shares). A kreisfreie Stadt is \
            named as in the data; a Kreis is called by its key. Outline: the union of its municipalities, simplified \
            to 20 m; ?geometry=full for the union itself.",
        from: area_from!(5, "CASE WHEN count(*) = 1 AND min(m.ags) = substr(min(m.ags), 1, 5) || '000' THEN min(m.name) \
            ELSE 'Kreis ' || substr(min(m.ags), 1, 5) END AS name, \
            CASE WHEN count(*) = 1 AND min(m.ags) = substr(min(m.ags), 1, 5) || '000' THEN 'Kreisfreie Stadt' ELSE 'Kreis' END AS kind"),
        id_expr: "t.ags",
        geom: "ST_Multi(ST_SimplifyPreserveTopology(t.geom, 20))",
        geom_full: Some("t.geom"),
        geom_filter: "t.geom",
        props: AREA_PROPS,
        datetime: "t.computed_at",
        filters: &[("ags", "t.ags", Match::Eq), ("kind", "t.kind", Match::Eq)],
    },
    Collection {
        id: "regions",
        title: "Regierungsbezirke (regions) with coverage",
        description: "The 5 Regierungsbezirke of NRW (first 3 AGS digits) with the coverage of their municipalities \
            summed, as for districts. Called by their key. Outline: the union of their municipalities, simplified \
            to 20 m; ?geometry=full for the union itself.",
        from: area_from!(3, "'Regierungsbezirk ' || substr(min(m.ags), 1, 3) AS name, 'Regierungsbezirk' AS kind"),
        id_expr: "t.ags",
        geom: "ST_Multi(ST_SimplifyPreserveTopology(t.geom, 20))",
        geom_full: Some("t.geom"),
        geom_filter: "t.geom",
        props: AREA_PROPS,
        datetime: "t.computed_at",
        filters: &[("ags", "t.ags", Match::Eq)],
    },
];

fn collection(id: &str) -> ApiResult<&'static Collection> {
    COLLECTIONS.iter().find(|c| c.id == id).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no collection {id:?}; collections: {}",
            COLLECTIONS.iter().map(|c| c.id).collect::<Vec<_>>().join(", ")
        ))
    })
}

/// A CRS the API speaks, from a `crs` / `bbox-crs` value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Crs {
    Crs84,
    Utm32,
}

impl Crs {
    fn parse(v: &str, param: &str) -> ApiResult<Self> {
        let v = v.trim().trim_start_matches('[').trim_end_matches(']');
        match v {
            CRS84 | "CRS84" | "OGC:CRS84" | "urn:ogc:def:crs:OGC:1.3:CRS84" => Ok(Self::Crs84),
            EPSG25832 | "EPSG:25832" | "urn:ogc:def:crs:EPSG::25832" | "http://www.opengis.net/def/crs/EPSG/0/25832/" => {
                Ok(Self::Utm32)
            }
            _ => Err(ApiError::BadRequest(format!(
                "parameter '{param}': CRS {v:?} is not supported; use {CRS84} or {EPSG25832}"
            ))),
        }
    }

    fn uri(self) -> &'static str {
        match self {
            Self::Crs84 => CRS84,
            Self::Utm32 => EPSG25832,
        }
    }

    fn srid(self) -> i32 {
        match self {
            Self::Crs84 => 4326,
            Self::Utm32 => 25832,
        }
    }

    /// Decimal places of output coordinates: 6 for degrees (~0.1 m), 2 for
    /// metres (1 cm).
    fn digits(self) -> i32 {
        match self {
            Self::Crs84 => 6,
            Self::Utm32 => 2,
        }
    }
}

fn link(href: &str, rel: &str, ty: &str, title: &str) -> Value {
    json!({"href": href, "rel": rel, "type": ty, "title": title})
}

fn json_response(v: &Value, content_type: &'static str) -> Response {
    let mut r = v.to_string().into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// `f` selects the media type: `json` (application/json) or `geojson`
/// (application/geo+json) for features; anything else is refused.
fn media(q: &QueryPairs, features: bool) -> ApiResult<&'static str> {
    match q.get("f") {
        None => Ok(if features { GEOJSON } else { JSON }),
        Some("json") => Ok(JSON),
        Some("geojson") if features => Ok(GEOJSON),
        Some(other) => Err(ApiError::BadRequest(format!(
            "parameter 'f': format {other:?} is not offered; use {}",
            if features { "geojson or json" } else { "json" }
        ))),
    }
}

/// Landing page.
#[utoipa::path(get, path = "/ogc", tag = "ogc",
    params(("f" = Option<String>, Query, description = "json")),
    responses((status = 200, description = "Landing page with links to the API description, conformance and collections", body = schema::OgcLanding)))]
pub(crate) async fn landing(State(state): State<AppState>, origin: Origin, q: QueryPairs) -> ApiResult<Response> {
    q.check(&["f"], |_| false)?;
    let ty = media(&q, false)?;
    let base = origin.base();
    let body = json!({
        "title": "Funkplan NRW – OGC API – Features",
        "description": "Mobile sites, build measures, municipality coverage and LTE dead spots in North Rhine-Westphalia.",
        "attribution": attribution(&state).await?,
        "links": [
            link(&format!("{base}/ogc"), "self", JSON, "This document"),
            link(&format!("{base}/api/openapi.json"), "service-desc", "application/vnd.oai.openapi+json;version=3.0", "The API definition (OpenAPI 3.0)"),
            link(&format!("{base}/ogc/conformance"), "conformance", JSON, "Conformance classes implemented"),
            link(&format!("{base}/ogc/collections"), "data", JSON, "The feature collections"),
        ]
    });
    Ok(json_response(&body, ty))
}

/// Conformance classes implemented.
#[utoipa::path(get, path = "/ogc/conformance", tag = "ogc",
    params(("f" = Option<String>, Query, description = "json")),
    responses((status = 200, description = "The conformance classes", body = schema::OgcConformance)))]
pub(crate) async fn conformance(q: QueryPairs) -> ApiResult<Response> {
    q.check(&["f"], |_| false)?;
    let ty = media(&q, false)?;
    Ok(json_response(&json!({"conformsTo": CONFORMANCE}), ty))
}

/// The extent of a collection in CRS84 and time.
async fn extent(state: &AppState, c: &Collection) -> ApiResult<Value> {
    let sql = format!(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), lo, hi FROM (\
           SELECT ST_Transform(ST_SetSRID(ST_Extent({g})::geometry, 25832), 4326) AS e, min({dt}) AS lo, max({dt}) AS hi \
           FROM {from}) x",
        g = c.geom_filter,
        dt = c.datetime,
        from = c.from
    );
    let conn = state.db().conn().await?;
    let stmt = conn.prepare_cached(&sql).await.map_err(DbError::pg("preparing the extent query"))?;
    let r = conn.query_one(&stmt, &[]).await.map_err(DbError::pg("reading a collection's extent"))?;
    let round = |v: Option<f64>| v.map(|v| (v * 1e6).round() / 1e6);
    let bbox: Vec<Option<f64>> = (0..4).map(|i| round(r.get(i))).collect();
    // An empty collection still has a (state-wide) extent: NRW's bounds.
    let bbox = if bbox.iter().all(Option::is_some) {
        json!(bbox)
    } else {
        json!([5.86, 50.32, 9.46, 52.53])
    };
    let lo: Option<DateTime<Utc>> = r.get(4);
    let hi: Option<DateTime<Utc>> = r.get(5);
    Ok(json!({
        "spatial": {"bbox": [bbox], "crs": CRS84},
        "temporal": {"interval": [[lo, hi]], "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    }))
}

/// The licence attribution of the data behind the API (OGC API – Common's
/// `attribution`): the real open data where the municipalities are real
/// (`data/README.md` of the repository), else the note that all is
/// synthetic. Sites and measures are synthetic either way: no real list of
/// mobile sites is open.
pub(crate) async fn attribution(state: &AppState) -> ApiResult<&'static str> {
    let c = state.db().conn().await?;
    let real: bool = c
        .query_one("SELECT coalesce(bool_or(NOT synthetic), false) FROM municipality", &[])
        .await
        .map_err(DbError::pg("reading whether the municipalities are real"))?
        .get(0);
    Ok(if real {
        "Gemeindegrenzen: © GeoBasis-DE / BKG 2021 (Daten verändert); Haushalte: © Statistisches Bundesamt (Destatis), \
         Zensus 2022 — beide Datenlizenz Deutschland – Namensnennung 2.0. Standorte, Maßnahmen und Versorgung: synthetisch."
    } else {
        "Synthetische Demodaten (Gemeinden, Haushalte, Standorte, Maßnahmen und Versorgung)."
    })
}

async fn collection_json(state: &AppState, base: &str, c: &Collection) -> ApiResult<Value> {
    let url = format!("{base}/ogc/collections/{}", c.id);
    Ok(json!({
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "attribution": attribution(state).await?,
        "itemType": "feature",
        "extent": extent(state, c).await?,
        "crs": [CRS84, EPSG25832],
        "storageCrs": EPSG25832,
        "links": [
            link(&url, "self", JSON, "This collection"),
            link(&format!("{url}/items"), "items", GEOJSON, "The features (GeoJSON)"),
            link(&format!("{url}/items?f=json"), "items", JSON, "The features (JSON)"),
        ]
    }))
}

/// All collections.
#[utoipa::path(get, path = "/ogc/collections", tag = "ogc",
    params(("f" = Option<String>, Query, description = "json")),
    responses((status = 200, description = "The collections with their extents", body = schema::OgcCollections)))]
pub(crate) async fn collections(State(state): State<AppState>, origin: Origin, q: QueryPairs) -> ApiResult<Response> {
    q.check(&["f"], |_| false)?;
    let ty = media(&q, false)?;
    let base = origin.base();
    let mut list = Vec::with_capacity(COLLECTIONS.len());
    for c in &COLLECTIONS {
        list.push(collection_json(&state, base, c).await?);
    }
    let body = json!({
        "links": [link(&format!("{base}/ogc/collections"), "self", JSON, "The collections")],
        "crs": [CRS84, EPSG25832],
        "collections": list
    });
    Ok(json_response(&body, ty))
}

/// One collection.
#[utoipa::path(get, path = "/ogc/collections/{collectionId}", tag = "ogc",
    params(("collectionId" = String, Path, description = "municipalities, sites, measures, dead-spots, districts or regions"),
           ("f" = Option<String>, Query, description = "json")),
    responses(
        (status = 200, description = "The collection with its extent", body = schema::OgcCollection),
        (status = 404, description = "Unknown collection", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn collection_meta(
    State(state): State<AppState>,
    origin: Origin,
    ApiPath(id): ApiPath<String>,
    q: QueryPairs,
) -> ApiResult<Response> {
    let c = collection(&id)?;
    q.check(&["f"], |_| false)?;
    let ty = media(&q, false)?;
    Ok(json_response(&collection_json(&state, origin.base(), c).await?, ty))
}

/// A parsed `datetime`: an instant or a half-open or closed interval.
struct TimeFilter {
    start: Option<DateTime<Utc>>,
    /// Exclusive for whole days, inclusive otherwise.
    end: Option<DateTime<Utc>>,
    end_exclusive: bool,
}

fn parse_instant(s: &str) -> Option<(DateTime<Utc>, bool)> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some((t.with_timezone(&Utc), false));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| (t.and_utc(), true))
}

fn parse_datetime(v: &str) -> ApiResult<TimeFilter> {
    let bad = || {
        ApiError::BadRequest(format!(
            "parameter 'datetime': {v:?} is not an RFC 3339 date-time, date or interval (e.g. 2024-01-01T00:00:00Z, \
             2024-05-01, 2024-01-01/2024-12-31, ../2024-12-31)"
        ))
    };
    let open = |s: &str| s.is_empty() || s == "..";
    if let Some((a, b)) = v.split_once('/') {
        let start = if open(a) { None } else { Some(parse_instant(a).ok_or_else(bad)?.0) };
        let (end, end_exclusive) = if open(b) {
            (None, false)
        } else {
            let (t, whole_day) = parse_instant(b).ok_or_else(bad)?;
            if whole_day {
                (Some(t + chrono::Duration::days(1)), true)
            } else {
                (Some(t), false)
            }
        };
        if start.is_none() && end.is_none() {
            return Err(bad());
        }
        if let (Some(s), Some(e)) = (start, end) {
            if s > e {
                return Err(ApiError::BadRequest(format!("parameter 'datetime': interval {v:?} ends before it starts")));
            }
        }
        Ok(TimeFilter { start, end, end_exclusive })
    } else {
        let (t, whole_day) = parse_instant(v).ok_or_else(bad)?;
        if whole_day {
            Ok(TimeFilter { start: Some(t), end: Some(t + chrono::Duration::days(1)), end_exclusive: true })
        } else {
            Ok(TimeFilter { start: Some(t), end: Some(t), end_exclusive: false })
        }
    }
}

fn parse_bbox(v: &str) -> ApiResult<[f64; 4]> {
    let nums: Result<Vec<f64>, _> = v.split(',').map(|s| s.trim().parse::<f64>()).collect();
    let bad = |why: &str| ApiError::BadRequest(format!("parameter 'bbox': {why}; expected minx,miny,maxx,maxy, got {v:?}"));
    let nums = nums.map_err(|_| bad("not a list of numbers"))?;
    let b = match nums.as_slice() {
        [a, b, c, d] => [*a, *b, *c, *d],
        // 3D boxes: heights are ignored (all features lie on the ground).
        [a, b, _, c, d, _] => [*a, *b, *c, *d],
        _ => return Err(bad("4 or 6 numbers needed")),
    };
    if b.iter().any(|x| !x.is_finite()) {
        return Err(bad("numbers must be finite"));
    }
    if b[0] > b[2] || b[1] > b[3] {
        return Err(bad("min must not exceed max"));
    }
    Ok(b)
}

/// Parameters of an items request, validated.
struct ItemsQuery {
    limit: i64,
    offset: i64,
    crs: Crs,
    bbox: Option<([f64; 4], Crs)>,
    time: Option<TimeFilter>,
    filters: Vec<(&'static str, &'static str, Match, Vec<String>)>,
    full_geometry: bool,
}

const ITEMS_PARAMS: [&str; 9] = ["limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "f", "geometry", "properties"];

fn items_query(c: &Collection, q: &QueryPairs) -> ApiResult<ItemsQuery> {
    let is_filter = |k: &str| c.filters.iter().any(|f| f.0 == k);
    q.check(&ITEMS_PARAMS, is_filter).map_err(|e| match e {
        ApiError::BadRequest(m) => ApiError::BadRequest(format!(
            "{m}; property filters of {}: {}",
            c.id,
            c.filters.iter().map(|f| f.0).collect::<Vec<_>>().join(", ")
        )),
        other => other,
    })?;
    if q.get("properties").is_some() {
        return Err(ApiError::BadRequest("parameter 'properties' (property selection) is not supported".into()));
    }
    let limit = q.int("limit", 100, 1, 10_000, true)?;
    let offset = q.int("offset", 0, 0, i64::from(i32::MAX), false)?;
    let crs = q.get("crs").map_or(Ok(Crs::Crs84), |v| Crs::parse(v, "crs"))?;
    let bbox_crs = q.get("bbox-crs").map_or(Ok(Crs::Crs84), |v| Crs::parse(v, "bbox-crs"))?;
    let bbox = q.get("bbox").map(parse_bbox).transpose()?.map(|b| (b, bbox_crs));
    if bbox.is_none() && q.get("bbox-crs").is_some() {
        return Err(ApiError::BadRequest("parameter 'bbox-crs' given without 'bbox'".into()));
    }
    let time = q.get("datetime").map(parse_datetime).transpose()?;
    let full_geometry = match q.get("geometry") {
        None | Some("simplified") => false,
        Some("full") if c.geom_full.is_some() => true,
        Some("full") => false,
        Some(other) => {
            return Err(ApiError::BadRequest(format!("parameter 'geometry': {other:?}; use full or simplified")))
        }
    };
    let mut filters = Vec::new();
    for (name, expr, how) in c.filters {
        if let Some(v) = q.get(name) {
            let values: Vec<String> = v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
            if values.is_empty() {
                return Err(ApiError::BadRequest(format!("parameter '{name}' is empty")));
            }
            filters.push((*name, *expr, *how, values));
        }
    }
    Ok(ItemsQuery { limit, offset, crs, bbox, time, filters, full_geometry })
}

type Param = Box<dyn ToSql + Sync + Send>;

/// lon/lat window (min lon, min lat, max lon, max lat) a CRS84 bbox is cut
/// to before projecting to EPSG:25832.
const WINDOW: [f64; 4] = funkplan_model::WINDOW;

/// WHERE clause and its parameters (numbered from `first`).
fn where_clause(c: &Collection, iq: &ItemsQuery, params: &mut Vec<Param>) -> String {
    let mut conds: Vec<String> = Vec::new();
    let next = |p: Param, params: &mut Vec<Param>| {
        params.push(p);
        format!("${}", params.len())
    };
    if let Some((b, crs)) = iq.bbox {
        // A lon/lat box is cut to a window around Germany before it is
        // projected: EPSG:25832 cannot represent the whole globe (a world
        // box would fold over), and every feature here lies in NRW.
        let b = match crs {
            Crs::Crs84 => [b[0].max(WINDOW[0]), b[1].max(WINDOW[1]), b[2].min(WINDOW[2]), b[3].min(WINDOW[3])],
            Crs::Utm32 => b,
        };
        if b[0] > b[2] || b[1] > b[3] {
            conds.push("FALSE".to_owned());
        }
        let (x0, y0, x1, y1) = (
            next(Box::new(b[0]), params),
            next(Box::new(b[1]), params),
            next(Box::new(b[2]), params),
            next(Box::new(b[3]), params),
        );
        let env = match crs {
            // Densified before projecting so the box's edges stay straight
            // in lon/lat rather than between four projected corners.
            Crs::Crs84 => format!(
                "ST_Transform(ST_Segmentize(ST_MakeEnvelope({x0}::float8, {y0}::float8, {x1}::float8, {y1}::float8, 4326), 0.01), 25832)"
            ),
            Crs::Utm32 => format!("ST_MakeEnvelope({x0}::float8, {y0}::float8, {x1}::float8, {y1}::float8, 25832)"),
        };
        conds.push(format!("ST_Intersects({}, {env})", c.geom_filter));
    }
    if let Some(t) = &iq.time {
        if let Some(s) = t.start {
            let p = next(Box::new(s), params);
            if t.end == t.start && !t.end_exclusive {
                conds.push(format!("{} = {p}::timestamptz", c.datetime));
            } else {
                conds.push(format!("{} >= {p}::timestamptz", c.datetime));
            }
        }
        if let Some(e) = t.end {
            if t.end != t.start || t.end_exclusive {
                let p = next(Box::new(e), params);
                let op = if t.end_exclusive { "<" } else { "<=" };
                conds.push(format!("{} {op} {p}::timestamptz", c.datetime));
            }
        }
    }
    for (_, expr, how, values) in &iq.filters {
        let p = next(Box::new(values.clone()), params);
        conds.push(match how {
            Match::Eq => format!("{expr}::text = ANY({p}::text[])"),
            Match::Contains => format!("{expr} && {p}::text[]"),
        });
    }
    if conds.is_empty() {
        "TRUE".to_owned()
    } else {
        conds.join(" AND ")
    }
}

/// The features of a collection, paged, filtered, in CRS84 or EPSG:25832.
#[utoipa::path(get, path = "/ogc/collections/{collectionId}/items", tag = "ogc",
    params(
        ("collectionId" = String, Path, description = "municipalities, sites, measures, dead-spots, districts or regions"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 10000, description = "Features per page, 1..10000 (larger values are cut to 10000), default 100"),
        ("offset" = Option<i64>, Query, minimum = 0, description = "Features to skip (the next link sets it)"),
        ("bbox" = Option<String>, Query, description = "minx,miny,maxx,maxy in bbox-crs (default CRS84 lon/lat)", example = "6.7,51.1,6.9,51.3"),
        ("bbox-crs" = Option<String>, Query, description = "CRS of bbox: http://www.opengis.net/def/crs/OGC/1.3/CRS84 or http://www.opengis.net/def/crs/EPSG/0/25832"),
        ("crs" = Option<String>, Query, description = "CRS of the output coordinates (CRS84 or EPSG:25832 URI)"),
        ("datetime" = Option<String>, Query, description = "RFC 3339 instant, date or interval (a/b, ../b, a/..)"),
        ("f" = Option<String>, Query, description = "geojson (default) or json"),
        ("geometry" = Option<String>, Query, description = "municipalities only: simplified (default) or full"),
        ("status" = Option<String>, Query, description = "sites, measures: status (comma-separated for any of several)"),
        ("operator" = Option<String>, Query, description = "sites, measures: operator id"),
        ("ags" = Option<String>, Query, description = "all collections: municipality key"),
        ("technology" = Option<String>, Query, description = "sites: technology on air (lte, 5g)"),
        ("kind" = Option<String>, Query, description = "measures: kind; municipalities: VG250 kind"),
        ("site_id" = Option<String>, Query, description = "measures: site id"),
        ("name" = Option<String>, Query, description = "municipalities: exact name"),
        ("district" = Option<String>, Query, description = "municipalities: 5-digit district key"),
    ),
    responses(
        (status = 200, description = "A page of features", body = schema::FeatureCollection, content_type = "application/geo+json",
         headers(("Content-Crs" = String, description = "CRS of the coordinates, as <URI>"))),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 400, description = "Unknown or malformed parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown collection", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn items(
    State(state): State<AppState>,
    origin: Origin,
    ApiPath(id): ApiPath<String>,
    q: QueryPairs,
) -> ApiResult<Response> {
    let c = collection(&id)?;
    let iq = items_query(c, &q)?;
    let ty = media(&q, true)?;
    let mut params: Vec<Param> = Vec::new();
    let cond = where_clause(c, &iq, &mut params);
    params.push(Box::new(iq.limit));
    let lim = params.len();
    params.push(Box::new(iq.offset));
    let off = params.len();
    params.push(Box::new(iq.crs.srid()));
    let srid = params.len();
    params.push(Box::new(iq.crs.digits()));
    let digits = params.len();
    let geom = if iq.full_geometry { c.geom_full.unwrap_or(c.geom) } else { c.geom };
    let sql = format!(
        "WITH f AS (SELECT {idx} AS id, {geom} AS g, {props} AS p FROM {from} WHERE {cond} ORDER BY {idx} LIMIT ${lim} OFFSET ${off}) \
         SELECT (SELECT count(*) FROM {from} WHERE {cond}), \
                (SELECT count(*) FROM f), \
                (SELECT coalesce(string_agg('{{\"type\":\"Feature\",\"id\":' || to_json(id)::text \
                     || ',\"geometry\":' || coalesce(ST_AsGeoJSON(ST_Transform(g, ${srid}::int), ${digits}::int), 'null') \
                     || ',\"properties\":' || p::text || '}}', ',' ORDER BY id), '') FROM f)",
        idx = c.id_expr,
        props = c.props,
        from = c.from,
    );
    let conn = state.db().conn().await?;
    let stmt = conn.prepare_cached(&sql).await.map_err(DbError::pg("preparing the items query"))?;
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect();
    let row = conn.query_one(&stmt, &refs).await.map_err(DbError::pg("reading features"))?;
    drop(conn);
    let matched: i64 = row.get(0);
    let returned: i64 = row.get(1);
    let features: String = row.get(2);

    let base = origin.base();
    let page = |offset: i64, f: Option<&str>| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &q.0 {
            if k != "offset" && k != "limit" && k != "f" {
                s.append_pair(k, v);
            }
        }
        s.append_pair("limit", &iq.limit.to_string());
        if offset > 0 {
            s.append_pair("offset", &offset.to_string());
        }
        if let Some(f) = f {
            s.append_pair("f", f);
        }
        format!("{base}/ogc/collections/{}/items?{}", c.id, s.finish())
    };
    let own_f = q.get("f");
    let other_f = if ty == GEOJSON { "json" } else { "geojson" };
    let other_ty = if ty == GEOJSON { JSON } else { GEOJSON };
    let mut links = vec![
        link(&page(iq.offset, own_f), "self", ty, "This page"),
        link(&page(iq.offset, Some(other_f)), "alternate", other_ty, "This page in another format"),
        link(&format!("{base}/ogc/collections/{}", c.id), "collection", JSON, "The collection"),
    ];
    if iq.offset + returned < matched {
        links.push(link(&page(iq.offset + iq.limit, own_f), "next", ty, "Next page"));
    }
    if iq.offset > 0 {
        links.push(link(&page((iq.offset - iq.limit).max(0), own_f), "prev", ty, "Previous page"));
    }
    let head = json!({
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": returned,
        "timeStamp": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "links": links,
    })
    .to_string();
    // `head` is a JSON object; open it up and append the features.
    let mut body = String::with_capacity(head.len() + features.len() + 16);
    body.push_str(&head[..head.len() - 1]);
    body.push_str(",\"features\":[");
    body.push_str(&features);
    body.push_str("]}");
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ty));
    h.insert("content-crs", crs_header(iq.crs));
    Ok(r)
}

fn crs_header(crs: Crs) -> HeaderValue {
    HeaderValue::from_str(&format!("<{}>", crs.uri())).unwrap_or_else(|_| HeaderValue::from_static("<>"))
}

/// One feature by its natural id (AGS, site_id, measure_id, dead spot id).
#[utoipa::path(get, path = "/ogc/collections/{collectionId}/items/{featureId}", tag = "ogc",
    params(
        ("collectionId" = String, Path, description = "municipalities, sites, measures, dead-spots, districts or regions"),
        ("featureId" = String, Path, description = "Natural id: AGS, site_id, measure_id or dead spot id"),
        ("crs" = Option<String>, Query, description = "CRS of the output coordinates (CRS84 or EPSG:25832 URI)"),
        ("f" = Option<String>, Query, description = "geojson (default) or json"),
        ("geometry" = Option<String>, Query, description = "municipalities only: simplified (default) or full"),
    ),
    responses(
        (status = 200, description = "The feature", body = schema::Feature, content_type = "application/geo+json",
         headers(("Content-Crs" = String, description = "CRS of the coordinates, as <URI>"))),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 400, description = "Unknown or malformed parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown collection or feature", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn item(
    State(state): State<AppState>,
    origin: Origin,
    ApiPath((cid, fid)): ApiPath<(String, String)>,
    q: QueryPairs,
) -> ApiResult<Response> {
    let c = collection(&cid)?;
    q.check(&["crs", "f", "geometry"], |_| false)?;
    let ty = media(&q, true)?;
    let crs = q.get("crs").map_or(Ok(Crs::Crs84), |v| Crs::parse(v, "crs"))?;
    let full = match q.get("geometry") {
        None | Some("simplified") => false,
        Some("full") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!("parameter 'geometry': {other:?}; use full or simplified")))
        }
    };
    let geom = if full { c.geom_full.unwrap_or(c.geom) } else { c.geom };
    let base = origin.base();
    let self_url = format!("{base}/ogc/collections/{}/items/", c.id);
    let coll_url = format!("{base}/ogc/collections/{}", c.id);
    let sql = format!(
        "SELECT '{{\"type\":\"Feature\",\"id\":' || to_json({idx})::text \
            || ',\"geometry\":' || coalesce(ST_AsGeoJSON(ST_Transform({geom}, $2::int), $3::int), 'null') \
            || ',\"properties\":' || ({props})::text \
            || ',\"links\":' || json_build_array( \
                   json_build_object('href', $4::text || {idx}, 'rel', 'self', 'type', $6::text, 'title', 'This feature'), \
                   json_build_object('href', $5::text, 'rel', 'collection', 'type', 'application/json', 'title', 'The collection'))::text \
            || '}}' \
         FROM {from} WHERE {idx}::text = $1",
        idx = c.id_expr,
        props = c.props,
        from = c.from,
    );
    let conn = state.db().conn().await?;
    let stmt = conn.prepare_cached(&sql).await.map_err(DbError::pg("preparing the feature query"))?;
    let row = conn
        .query_opt(&stmt, &[&fid, &crs.srid(), &crs.digits(), &self_url, &coll_url, &ty])
        .await
        .map_err(DbError::pg("reading a feature"))?;
    let Some(row) = row else {
        return Err(ApiError::NotFound(format!("no feature {fid:?} in collection {}", c.id)));
    };
    let mut r = row.get::<_, String>(0).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ty));
    h.insert("content-crs", crs_header(crs));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_forms() {
        let t = parse_datetime("2024-05-01").unwrap();
        assert_eq!(t.start.unwrap().to_rfc3339(), "2024-05-01T00:00:00+00:00");
        assert_eq!(t.end.unwrap().to_rfc3339(), "2024-05-02T00:00:00+00:00");
        assert!(t.end_exclusive);
        let t = parse_datetime("../2024-12-31T00:00:00Z").unwrap();
        assert!(t.start.is_none());
        assert!(!t.end_exclusive);
        assert!(parse_datetime("../..").is_err());
        assert!(parse_datetime("yesterday").is_err());
        assert!(parse_datetime("2024-02-01/2024-01-01").is_err());
    }

    #[test]
    fn bbox_forms() {
        assert_eq!(parse_bbox("6.7,51.1,6.9,51.3").unwrap(), [6.7, 51.1, 6.9, 51.3]);
        assert!(parse_bbox("6.9,51.1,6.7,51.3").is_err());
        assert!(parse_bbox("1,2,3").is_err());
        assert!(parse_bbox("a,b,c,d").is_err());
        assert!(parse_bbox("1,2,NaN,4").is_err());
    }
}
