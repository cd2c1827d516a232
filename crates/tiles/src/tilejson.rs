//! The tilesets and their TileJSON 3.0 documents.

use serde_json::{json, Map, Value};

/// One tileset: what it shows, its zoom levels and its layer's fields.
#[derive(Debug, Clone, Copy)]
pub struct Tileset {
    /// Id in URLs (`/tiles/{id}/…`, `/ogc/collections/{id}/tiles/…`) and
    /// the name of its one MVT layer.
    pub id: &'static str,
    /// Short title.
    pub title: &'static str,
    /// What the features are and how they were made.
    pub description: &'static str,
    /// Lowest zoom served.
    pub minzoom: u8,
    /// Highest zoom served (clients overzoom beyond).
    pub maxzoom: u8,
    /// The layer's properties: (name, TileJSON type, meaning).
    pub fields: &'static [(&'static str, &'static str, &'static str)],
}

/// NRW's bounds (WGS84 lon/lat, west, south, east, north) with a margin.
pub const BOUNDS: [f64; 4] = [5.8, 50.3, 9.5, 52.6];

const COVERAGE_FIELDS: &[(&str, &str, &str)] = &[
    ("lte", "Number", "z ≥ 12: operators covering the cell with LTE"),
    ("5g", "Number", "z ≥ 12: operators covering the cell with 5G"),
    ("lte_ops", "String", "z ≥ 12: the LTE operators (ids, comma-separated), only where the operator set is known"),
    ("5g_ops", "String", "z ≥ 12: the 5G operators, only where known"),
    ("households", "Number", "households in the cell (z ≥ 12) or block (z < 12)"),
    ("block_m", "Number", "z < 12: edge of the block in metres (100 m × 2^(12 − z))"),
    ("cells", "Number", "z < 12: grid cells in the block"),
    ("lte_households_covered", "Number", "z < 12: households in cells with LTE from at least one operator"),
    ("lte_household_share", "Number", "z < 12: lte_households_covered / households (blocks with households only)"),
    ("lte_cells_covered", "Number", "z < 12: cells with LTE from at least one operator"),
    ("lte_dead_cells", "Number", "z < 12: cells without LTE (Funkloch)"),
    ("lte_grey_cells", "Number", "z < 12: cells with LTE from exactly one operator"),
    ("5g_households_covered", "Number", "z < 12: as for LTE"),
    ("5g_household_share", "Number", "z < 12: as for LTE"),
    ("5g_cells_covered", "Number", "z < 12: as for LTE"),
    ("5g_dead_cells", "Number", "z < 12: as for LTE"),
    ("5g_grey_cells", "Number", "z < 12: as for LTE"),
];

const AREA_FIELDS: &[(&str, &str, &str)] = &[
    ("ags", "String", "official key (AGS; 5 digits for a district, 3 for a region)"),
    ("name", "String", "name"),
    ("households", "Number", "households"),
    ("lte_household_share", "Number", "share of households with LTE (0…1)"),
    ("5g_household_share", "Number", "share of households with 5G (0…1)"),
    ("lte_area_share", "Number", "share of the area with LTE (0…1)"),
    ("5g_area_share", "Number", "share of the area with 5G (0…1)"),
];

/// Every tileset served.
pub const TILESETS: [Tileset; 6] = [
    Tileset {
        id: "coverage",
        title: "Versorgung im 100-m-Raster",
        description: "The coverage engine's 100 m grid cells (EPSG:25832 squares) of the actual state (?scenario=true: every planned \
            measure completed; ?datetime=YYYY-MM-DD: the coverage release in force then with the sites on air then). From zoom 12 one \
            feature per cell with the number of operators covering it with LTE and 5G (and which, where known); below zoom 12 each \
            feature is a block of 2^(12-z) × 2^(12-z) cells with the sums of its cells: households, households covered, cells covered, \
            dead and grey cells per technology, so the household-weighted share covered is households_covered / households. \
            Feature id: northing · 100000 + easting (hectometres) of the south-west corner.",
        minzoom: 6,
        maxzoom: 16,
        fields: COVERAGE_FIELDS,
    },
    Tileset {
        id: "dead-spots",
        title: "LTE-Funklöcher",
        description: "LTE dead spots (no operator) as merged grid-cell polygons from the last coverage run, with their area; \
            grey spots (one operator only) are the coverage tileset's cells with lte = 1.",
        minzoom: 6,
        maxzoom: 16,
        fields: &[("id", "Number", "dead spot id"), ("ags", "String", "municipality"), ("area_km2", "Number", "area in km²")],
    },
    Tileset {
        id: "sites",
        title: "Standorte",
        description: "Mobile sites as points with status, operator and technologies, from zoom 9 (at zoom 8 one tile of NRW's \
            27,000 sites is some 750 KB, beyond the 500 KB a tile may have).",
        minzoom: 9,
        maxzoom: 16,
        fields: &[
            ("site_id", "String", "site id"),
            ("operator", "String", "operator id"),
            ("status", "String", "planned, permitting, construction, on_air, decommissioned"),
            ("technologies", "String", "technologies on air, comma-separated"),
        ],
    },
    Tileset {
        id: "municipalities",
        title: "Gemeinden",
        description: "Municipalities with their current coverage figures (source as the municipality figures).",
        minzoom: 0,
        maxzoom: 16,
        fields: AREA_FIELDS,
    },
    Tileset {
        id: "districts",
        title: "Kreise",
        description: "Districts (Kreise and kreisfreie Städte) with their current coverage figures.",
        minzoom: 0,
        maxzoom: 16,
        fields: AREA_FIELDS,
    },
    Tileset {
        id: "regions",
        title: "Regierungsbezirke",
        description: "Regions (Regierungsbezirke) with their current coverage figures.",
        minzoom: 0,
        maxzoom: 16,
        fields: AREA_FIELDS,
    },
];

impl Tileset {
    /// The tileset with this id.
    #[must_use]
    pub fn get(id: &str) -> Option<&'static Self> {
        TILESETS.iter().find(|t| t.id == id)
    }

    /// The TileJSON 3.0 document; `tiles` is the tile URL template
    /// (`…/{z}/{x}/{y}.mvt`, query included).
    #[must_use]
    pub fn tilejson(&self, tiles: &str, attribution: &str) -> Value {
        let fields: Map<String, Value> = self.fields.iter().map(|(k, ty, _)| ((*k).to_owned(), json!(ty))).collect();
        let centre = [(BOUNDS[0] + BOUNDS[2]) / 2.0, (BOUNDS[1] + BOUNDS[3]) / 2.0, 8.0];
        json!({
            "tilejson": "3.0.0",
            "name": self.title,
            "description": self.description,
            "attribution": attribution,
            "scheme": "xyz",
            "tiles": [tiles],
            "minzoom": self.minzoom,
            "maxzoom": self.maxzoom,
            "bounds": BOUNDS,
            "center": centre,
            "vector_layers": [{
                "id": self.id,
                "description": self.description,
                "minzoom": self.minzoom,
                "maxzoom": self.maxzoom,
                "fields": fields,
            }],
        })
    }
}
