//! Schemas of the bodies that PostgreSQL serialises, for the OpenAPI
//! document only: no handler builds these types, they describe the JSON
//! that the `.sql` files write. A leaf module — it depends on nothing in
//! `routes` — so that handlers can name their bodies here while the
//! document (the parent module) lists the handlers: dependencies point one
//! way.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

/// Figures of one technology in a place.
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

/// The figures of a place — a municipality, a district or a
/// Regierungsbezirk — written by `sql/figures.sql` for all three.
#[derive(Serialize, ToSchema)]
pub struct PlaceFigures {
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

/// The figures of a municipality (docs/http.md).
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
    #[serde(flatten)]
    pub figures: PlaceFigures,
}

/// A district or Regierungsbezirk: its municipalities' figures summed.
#[derive(Serialize, ToSchema)]
pub struct AreaFigures {
    /// The first 5 (district) or 3 (Regierungsbezirk) AGS digits.
    pub ags: String,
    /// `district` or `region`.
    pub level: String,
    /// A kreisfreie Stadt's name from the data; a Kreis's or
    /// Regierungsbezirk's official name (by its key outside NRW's names).
    pub name: String,
    /// Kreisfreie Stadt, Kreis or Regierungsbezirk.
    pub kind: String,
    #[serde(flatten)]
    pub figures: PlaceFigures,
    /// The municipalities with their main figures, by AGS.
    pub municipalities: Vec<AreaMember>,
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

/// One dated release of the regulator's reported coverage (issue 16).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"as_of": "2024-01-01", "cells": 3412345, "source_file": "202401_MobilfunkMonitoring.csv",
    "source_sha256": "9f2c…", "checksum": "41be…", "ingested_at": "2026-12-07T10:00:00Z"}))]
pub struct Release {
    /// The date the release describes (ISO 8601).
    pub as_of: String,
    /// Cells in the release.
    pub cells: i64,
    /// The file(s) it was made from.
    pub source_file: String,
    pub source_sha256: String,
    /// SHA-256 over the release's rows: equal means equal content.
    pub checksum: String,
    pub ingested_at: String,
}

/// What changed in one technology between two releases.
#[derive(Serialize, ToSchema)]
pub struct TechChange {
    pub households_before: f64,
    pub households_after: f64,
    pub households_gained: f64,
    pub households_lost: f64,
    pub cells_gained: i64,
    pub cells_lost: i64,
    pub area_gained_km2: f64,
    pub area_lost_km2: f64,
}

/// Dead-spot area at the two releases, km².
#[derive(Serialize, ToSchema)]
pub struct BeforeAfter {
    pub before: f64,
    pub after: f64,
}

/// What changed in a municipality's reported coverage between two releases.
#[derive(Serialize, ToSchema)]
pub struct MunicipalityChanges {
    pub ags: String,
    pub name: String,
    /// The release compared from (in force at the `from` date); null: none.
    pub from: Option<String>,
    /// The release compared to (in force at the `to` date).
    pub to: Option<String>,
    /// Always `reported`: the regulator's releases, not the modelled sites.
    pub source: String,
    /// Grid cells of the municipality.
    pub cells: i64,
    /// By technology (`5g`, `lte`).
    pub technologies: BTreeMap<String, TechChange>,
    /// LTE dead-spot area (no operator reported) at each release.
    pub dead_spot_area_km2: BeforeAfter,
    /// The areas gained and lost, per technology, as GeoJSON in WGS84;
    /// properties `technology`, `change` (gained/lost), `cells`,
    /// `households`, `area_km2`.
    #[schema(value_type = Object)]
    pub changed_areas: serde_json::Value,
}
