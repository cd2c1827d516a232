//! The OpenAPI description (`/api/openapi.json`), generated from the
//! handlers' `#[utoipa::path]` attributes and served as OpenAPI 3.0.3, the
//! version OGC API – Features' `oas30` conformance class names. utoipa
//! writes 3.1; [`downgrade`] rewrites the few 3.1-only constructs it uses.

use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes;

/// Schemas of bodies that PostgreSQL serialises (documentation only).
pub mod schema {
    use std::collections::BTreeMap;

    use serde::Serialize;
    use utoipa::ToSchema;

    /// Figures of one technology in a municipality.
    #[derive(Serialize, ToSchema)]
    pub struct TechFigures {
        pub households_covered: f64,
        /// 0..1
        pub household_share: f64,
        /// 0..1
        pub area_share: f64,
        /// LTE only: area with no operator, km².
        pub dead_spot_area_km2: Option<f64>,
        /// LTE only: area with exactly one operator, km².
        pub grey_spot_area_km2: Option<f64>,
        /// Per operator, only where the source names operators.
        pub operators: Option<BTreeMap<String, OperatorFigures>>,
    }

    /// One operator's share.
    #[derive(Serialize, ToSchema)]
    pub struct OperatorFigures {
        pub households_covered: f64,
        pub household_share: f64,
        pub area_share: f64,
    }

    /// The figures of a municipality (DESIGN §7).
    #[derive(Serialize, ToSchema)]
    #[schema(example = json!({"ags": "05111000", "name": "Düsseldorf", "households": 341000, "area_km2": 217.4,
        "coverage": {"5g": {"households_covered": 330000, "household_share": 0.968, "area_share": 0.91},
                     "lte": {"households_covered": 341000, "household_share": 1.0, "area_share": 0.998,
                             "dead_spot_area_km2": 0.4, "grey_spot_area_km2": 2.1}},
        "scenario": {"5g": {"households_covered": 337000, "household_share": 0.99, "area_share": 0.95}},
        "sites": {"planned": 4, "permitting": 2, "construction": 1, "on_air": 120},
        "measures": {"5g_upgrade": {"planned": 3, "in_progress": 1, "completed": 60}},
        "source": "modelled", "computed_at": "2026-11-23T10:00:00Z"}))]
    pub struct MunicipalityFigures {
        pub ags: String,
        pub name: String,
        pub households: Option<f64>,
        pub area_km2: f64,
        /// By technology (`5g`, `lte`); empty before the first computation.
        pub coverage: BTreeMap<String, TechFigures>,
        /// As if every planned measure were completed; null when not computed.
        pub scenario: Option<BTreeMap<String, TechFigures>>,
        /// Sites by status.
        pub sites: BTreeMap<String, i64>,
        /// Measures by kind, then status.
        pub measures: BTreeMap<String, BTreeMap<String, i64>>,
        /// reported, modelled or union.
        pub source: Option<String>,
        pub computed_at: Option<String>,
    }

    /// A district or Regierungsbezirk: its municipalities' figures summed.
    #[derive(Serialize, ToSchema)]
    pub struct AreaFigures {
        /// The first 5 (district) or 3 (Regierungsbezirk) AGS digits.
        pub ags: String,
        /// `district` or `region`.
        pub level: String,
        /// A kreisfreie Stadt's name from the data; a Kreis or
        /// Regierungsbezirk is called by its key until names are loaded.
        pub name: String,
        /// Kreisfreie Stadt, Kreis or Regierungsbezirk.
        pub kind: String,
        pub households: Option<f64>,
        pub area_km2: f64,
        pub coverage: BTreeMap<String, TechFigures>,
        pub scenario: Option<BTreeMap<String, TechFigures>>,
        pub sites: BTreeMap<String, i64>,
        pub measures: BTreeMap<String, BTreeMap<String, i64>>,
        /// The municipalities with their main figures, by AGS.
        pub municipalities: Vec<AreaMember>,
        pub source: Option<String>,
        pub computed_at: Option<String>,
    }

    /// A municipality within an area.
    #[derive(Serialize, ToSchema)]
    pub struct AreaMember {
        pub ags: String,
        pub name: String,
        pub kind: Option<String>,
        pub households: Option<f64>,
        pub area_km2: f64,
        pub household_share_5g: Option<f64>,
        pub area_share_5g: Option<f64>,
        pub household_share_lte: Option<f64>,
        pub area_share_lte: Option<f64>,
        pub dead_spot_area_km2: Option<f64>,
    }

    /// A search hit.
    #[derive(Serialize, ToSchema)]
    pub struct MunicipalityRef {
        pub ags: String,
        pub name: String,
        pub district: String,
    }

    /// A site as stored.
    #[derive(Serialize, ToSchema)]
    pub struct Site {
        pub site_id: String,
        pub operator: String,
        pub lon: f64,
        pub lat: f64,
        pub status: String,
        pub technologies: Vec<String>,
        pub planned_date: Option<String>,
        pub on_air_date: Option<String>,
        /// Municipality containing the site (null outside NRW's municipalities).
        pub ags: Option<String>,
        pub version: i64,
        pub updated_at: String,
    }

    /// A measure as stored.
    #[derive(Serialize, ToSchema)]
    pub struct Measure {
        pub measure_id: String,
        pub site_id: String,
        pub kind: String,
        pub status: String,
        pub planned_date: Option<String>,
        pub completed_date: Option<String>,
        pub version: i64,
        pub updated_at: String,
    }

    /// One audit entry.
    #[derive(Serialize, ToSchema)]
    pub struct AuditEntry {
        pub id: i64,
        pub at: String,
        /// `token:<id> (<role>)`
        pub actor: String,
        /// create or update
        pub action: String,
        /// site or measure
        pub entity: String,
        pub entity_id: String,
        #[schema(value_type = Option<Object>)]
        pub before: Option<serde_json::Value>,
        #[schema(value_type = Object)]
        pub after: serde_json::Value,
    }

    /// A page of the audit log.
    #[derive(Serialize, ToSchema)]
    pub struct AuditPage {
        pub total: i64,
        pub limit: i64,
        pub offset: i64,
        pub next: Option<String>,
        pub prev: Option<String>,
        pub items: Vec<AuditEntry>,
    }

    /// A link (OGC API, RFC 8288 fields).
    #[derive(Serialize, ToSchema)]
    pub struct Link {
        pub href: String,
        pub rel: String,
        #[serde(rename = "type")]
        pub type_: Option<String>,
        pub title: Option<String>,
    }

    /// A GeoJSON feature (RFC 7946).
    #[derive(Serialize, ToSchema)]
    pub struct Feature {
        /// Always `Feature`.
        #[serde(rename = "type")]
        pub type_: String,
        pub id: String,
        /// A GeoJSON geometry.
        #[schema(value_type = Object)]
        pub geometry: serde_json::Value,
        #[schema(value_type = Object)]
        pub properties: serde_json::Value,
        pub links: Option<Vec<Link>>,
    }

    /// A GeoJSON FeatureCollection with OGC paging members.
    #[derive(Serialize, ToSchema)]
    pub struct FeatureCollection {
        /// Always `FeatureCollection`.
        #[serde(rename = "type")]
        pub type_: String,
        pub features: Vec<Feature>,
        #[serde(rename = "numberMatched")]
        pub number_matched: Option<i64>,
        #[serde(rename = "numberReturned")]
        pub number_returned: Option<i64>,
        #[serde(rename = "timeStamp")]
        pub time_stamp: Option<String>,
        pub links: Option<Vec<Link>>,
    }

    /// The OGC landing page.
    #[derive(Serialize, ToSchema)]
    pub struct OgcLanding {
        pub title: String,
        pub description: String,
        /// Licence attribution of the data (real open data or synthetic).
        pub attribution: String,
        pub links: Vec<Link>,
    }

    /// The conformance declaration.
    #[derive(Serialize, ToSchema)]
    pub struct OgcConformance {
        #[serde(rename = "conformsTo")]
        pub conforms_to: Vec<String>,
    }

    /// Spatial and temporal extent.
    #[derive(Serialize, ToSchema)]
    pub struct Extent {
        #[schema(value_type = Object)]
        pub spatial: serde_json::Value,
        #[schema(value_type = Object)]
        pub temporal: serde_json::Value,
    }

    /// One collection's description.
    #[derive(Serialize, ToSchema)]
    pub struct OgcCollection {
        pub id: String,
        pub title: String,
        pub description: String,
        /// Licence attribution of the data (real open data or synthetic).
        pub attribution: String,
        #[serde(rename = "itemType")]
        pub item_type: String,
        pub extent: Extent,
        pub crs: Vec<String>,
        #[serde(rename = "storageCrs")]
        pub storage_crs: String,
        pub links: Vec<Link>,
    }

    /// All collections.
    #[derive(Serialize, ToSchema)]
    pub struct OgcCollections {
        pub links: Vec<Link>,
        pub crs: Vec<String>,
        pub collections: Vec<OgcCollection>,
    }
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some(
                "A token from `funkplan token create --role admin|staff|municipality:AGS`",
            )).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Funkplan NRW API", description = "Mobile-network rollout in North Rhine-Westphalia against the state's targets: targets, municipality coverage, sites and measures, OGC API – Features. Errors are application/problem+json (RFC 9457)."),
    paths(
        routes::health::healthz,
        routes::targets::list,
        routes::targets::history,
        routes::municipalities::search,
        routes::municipalities::figures,
        routes::municipalities::dead_spots,
        routes::areas::district,
        routes::areas::region,
        routes::writes::get_site,
        routes::writes::create_site,
        routes::writes::patch_site,
        routes::writes::get_measure,
        routes::writes::create_measure,
        routes::writes::patch_measure,
        routes::audit::list,
        routes::meta::openapi,
        routes::meta::metrics,
        routes::ogc::landing::landing,
        routes::ogc::landing::conformance,
        routes::ogc::collections::collections,
        routes::ogc::collections::collection_meta,
        routes::ogc::features::items,
        routes::ogc::features::item,
    ),
    components(schemas(crate::Problem, funkplan_targets::TargetStatus, routes::writes::NewSite, routes::writes::SitePatch,
        routes::writes::NewMeasure, routes::writes::MeasurePatch)),
    modifiers(&BearerAuth),
    tags(
        (name = "targets", description = "The state's targets, progress and forecast"),
        (name = "coverage", description = "Coverage figures per municipality"),
        (name = "sites", description = "Mobile sites (writes need a token)"),
        (name = "measures", description = "Build measures (writes need a token)"),
        (name = "audit", description = "Who changed what"),
        (name = "ogc", description = "OGC API – Features Part 1 and 2"),
        (name = "meta", description = "Health, API description, metrics"),
    )
)]
struct ApiDoc;

/// The document as served: OpenAPI 3.0.3 JSON.
#[must_use]
pub fn document() -> Value {
    let mut v = serde_json::to_value(ApiDoc::openapi()).unwrap_or(Value::Null);
    downgrade(&mut v);
    if let Some(o) = v.as_object_mut() {
        o.insert("openapi".into(), Value::String("3.0.3".into()));
    }
    // OGC clients (GDAL, QGIS) size their pages from the limit parameter's
    // schema; utoipa has no attribute for a parameter's default.
    if let Some(ps) = v
        .pointer_mut("/paths/~1ogc~1collections~1{collectionId}~1items/get/parameters")
        .and_then(Value::as_array_mut)
    {
        for p in ps.iter_mut().filter(|p| p["name"] == "limit") {
            if let Some(s) = p.get_mut("schema").and_then(Value::as_object_mut) {
                s.insert("default".into(), Value::from(100));
            }
        }
    }
    // `license.identifier` (SPDX) is 3.1 only.
    if let Some(l) = v.pointer_mut("/info/license").and_then(Value::as_object_mut) {
        l.remove("identifier");
    }
    v
}

pub(crate) fn document_bytes() -> bytes::Bytes {
    bytes::Bytes::from(document().to_string())
}

/// Rewrite OpenAPI 3.1 schema constructs into their 3.0 forms:
/// `"type": ["X", "null"]` → `"type": "X", "nullable": true`, and
/// `oneOf: [{"type": "null"}, S]` → `allOf: [S], nullable: true`.
fn downgrade(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if let Some(Value::Array(types)) = o.get("type").cloned() {
                let non_null: Vec<Value> = types.iter().filter(|t| t.as_str() != Some("null")).cloned().collect();
                let nullable = non_null.len() < types.len();
                match non_null.as_slice() {
                    [one] => {
                        o.insert("type".into(), one.clone());
                    }
                    _ => {
                        o.remove("type");
                    }
                }
                if nullable {
                    o.insert("nullable".into(), Value::Bool(true));
                }
            }
            if let Some(Value::Array(alts)) = o.get("oneOf").cloned() {
                let rest: Vec<Value> = alts
                    .iter()
                    .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
                    .cloned()
                    .collect();
                if rest.len() < alts.len() {
                    o.remove("oneOf");
                    o.insert("nullable".into(), Value::Bool(true));
                    if rest.len() == 1 {
                        o.insert("allOf".into(), Value::Array(rest));
                    } else {
                        o.insert("oneOf".into(), Value::Array(rest));
                    }
                }
            }
            // JSON Schema 2019 keyword utoipa adds to maps; 3.0 lacks it.
            o.remove("propertyNames");
            // 3.1 allows `examples` arrays in schemas; 3.0 has `example`.
            if let Some(Value::Array(ex)) = o.get("examples").cloned() {
                if o.contains_key("type") || o.contains_key("$ref") || o.contains_key("properties") {
                    o.remove("examples");
                    if let Some(first) = ex.into_iter().next() {
                        o.insert("example".into(), first);
                    }
                }
            }
            for (_, child) in o.iter_mut() {
                downgrade(child);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(downgrade),
        _ => {}
    }
}
