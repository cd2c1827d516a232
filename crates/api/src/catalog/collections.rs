//! The collections of the catalog: municipalities with their coverage,
//! sites, measures, dead spots, and the areas (districts, Regierungsbezirke,
//! the state) that municipalities add up to.

use super::{Collection, Filter, Time};

const MUNICIPALITY_FROM: &str = "municipality t \
    LEFT JOIN coverage_result c5 ON c5.ags = t.ags AND NOT c5.scenario AND c5.technology = '5g' \
    LEFT JOIN coverage_result cl ON cl.ags = t.ags AND NOT cl.scenario AND cl.technology = 'lte' \
    LEFT JOIN coverage_result s5 ON s5.ags = t.ags AND s5.scenario AND s5.technology = '5g' \
    LEFT JOIN coverage_result sl ON sl.ags = t.ags AND sl.scenario AND sl.technology = 'lte'";

/// FROM clause of an area collection, one row per area: municipalities
/// grouped by the first `$len` AGS digits (outline = their union) with the
/// engine's results summed the same way (counts summed, shares divided
/// once, as `sql/figures.sql` does for the areas' figures).
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
                FROM coverage_result r GROUP BY 1) f ON f.fags = g.ags) t"
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

/// An area collection (municipalities summed by the first AGS digits):
/// everything but its words and its FROM is the same for all of them.
const fn area(id: &'static str, title: &'static str, description: &'static str, from: &'static str, filters: &'static [Filter]) -> Collection {
    Collection {
        id,
        title,
        description,
        from,
        id_expr: "t.ags",
        geom: "ST_Multi(ST_SimplifyPreserveTopology(t.geom, 20))",
        geom_full: Some("t.geom"),
        geom_filter: "t.geom",
        props: AREA_PROPS,
        datetime: Time::Release,
        filters,
    }
}

/// Every collection, in the order they are listed. A `static`, not a
/// `const`: every reference to a collection then points into this one
/// array (a `const` is promoted anew where it is used, so in a release
/// build two references to the same collection could differ in address).
pub(super) static ALL: [Collection; 7] = [
    Collection {
        id: "municipalities",
        title: "Gemeinden (municipalities) with coverage",
        description: "NRW municipalities with their current 5G and LTE coverage (shares 0..1 of households and \
            area, LTE dead and grey spot area in km²), the scenario shares (`*_scenario`: as if every planned measure \
            were completed) and whether the data is synthetic. Geometry simplified to 20 m; ?geometry=full for the original. \
            datetime=DATE gives every municipality with its figures at that date: the coverage release in force then \
            combined with the sites on air then (an interval: at its end), as /api/v1/municipalities/{ags}?as_of=DATE.",
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
        datetime: Time::Release,
        filters: &[Filter::eq("ags", "t.ags"), Filter::eq("name", "t.name"), Filter::eq("district", "t.district"), Filter::eq("kind", "t.kind")],
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
        datetime: Time::Instant("(t.on_air_date::timestamp AT TIME ZONE 'UTC')"),
        filters: &[
            Filter::eq("operator", "t.operator_id"),
            Filter::eq("status", "t.status"),
            Filter::eq("ags", "t.ags"),
            Filter::contains("technology", "t.technologies"),
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
        datetime: Time::Instant("(coalesce(t.completed_date, t.planned_date)::timestamp AT TIME ZONE 'UTC')"),
        filters: &[
            Filter::eq("kind", "t.kind"),
            Filter::eq("status", "t.status"),
            Filter::eq("site_id", "t.site_id"),
            Filter::eq("operator", "s.operator_id"),
            Filter::eq("ags", "s.ags"),
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
        datetime: Time::Instant("t.computed_at"),
        filters: &[Filter::eq("ags", "t.ags")],
    },
    area(
        "districts",
        "Kreise und kreisfreie Städte (districts) with coverage",
        "The 53 districts of NRW (first 5 AGS digits) with the coverage of their municipalities summed \
            (shares 0..1 of households and area, LTE dead spot area in km², scenario shares). A kreisfreie Stadt is \
            named as in the data, a Kreis by its official name. Outline: the union of its municipalities, simplified \
            to 20 m; ?geometry=full for the union itself. datetime=DATE: the figures at that date, as for municipalities.",
        area_from!(5, "CASE WHEN count(*) = 1 AND min(m.ags) = substr(min(m.ags), 1, 5) || '000' THEN min(m.name) \
            ELSE coalesce((SELECT a.name FROM area_name a WHERE a.ags = substr(min(m.ags), 1, 5)), 'Kreis ' || substr(min(m.ags), 1, 5)) END AS name, \
            CASE WHEN count(*) = 1 AND min(m.ags) = substr(min(m.ags), 1, 5) || '000' THEN 'Kreisfreie Stadt' ELSE 'Kreis' END AS kind"),
        &[Filter::eq("ags", "t.ags"), Filter::eq("kind", "t.kind")],
    ),
    area(
        "regions",
        "Regierungsbezirke (regions) with coverage",
        "The 5 Regierungsbezirke of NRW (first 3 AGS digits) with the coverage of their municipalities \
            summed, as for districts, by their official names. Outline: the union of their municipalities, simplified \
            to 20 m; ?geometry=full for the union itself. datetime=DATE: the figures at that date, as for municipalities.",
        area_from!(3, "coalesce((SELECT a.name FROM area_name a WHERE a.ags = substr(min(m.ags), 1, 3)), 'Regierungsbezirk ' || substr(min(m.ags), 1, 3)) AS name, 'Regierungsbezirk' AS kind"),
        &[Filter::eq("ags", "t.ags")],
    ),
    area(
        "state",
        "Nordrhein-Westfalen (the state) with coverage",
        "The state as one feature (AGS 05) with the coverage of all its municipalities summed, as for \
            districts. Outline: the union of the municipalities, simplified to 20 m; ?geometry=full for the union itself. datetime=DATE: the figures at that date, as for municipalities.",
        area_from!(2, "'Nordrhein-Westfalen' AS name, 'Land' AS kind"),
        &[Filter::eq("ags", "t.ags")],
    ),
];
