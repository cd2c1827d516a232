-- What changed in one municipality's reported coverage between two
-- releases ($2, $3: their dates; NULL = no release, nothing reported):
-- per technology the households, cells and area gained and lost, the LTE
-- dead-spot area (cells without LTE from any operator) before and after,
-- and the changed areas as GeoJSON (WGS84, 6 decimals). NULL when there is
-- no municipality $1.
--
-- A cell is covered by a technology when the release reports at least one
-- operator for it (lte_count / nr_count > 0), as the engine reads it.
WITH cells AS (
    SELECT g.n, g.e, coalesce(h.households, 0)::float8 AS hh
    FROM grid_cell g LEFT JOIN household_cell h USING (n, e)
    WHERE g.ags = $1
),
st AS (
    SELECT c.n, c.e, c.hh,
           coalesce(a.lte_count, 0) > 0 AS lte0, coalesce(b.lte_count, 0) > 0 AS lte1,
           coalesce(a.nr_count, 0) > 0 AS nr0, coalesce(b.nr_count, 0) > 0 AS nr1
    FROM cells c
    LEFT JOIN reported_coverage_version a
           ON a.n = c.n AND a.e = c.e AND a.valid_from <= $2::date AND (a.valid_to IS NULL OR a.valid_to > $2::date)
    LEFT JOIN reported_coverage_version b
           ON b.n = c.n AND b.e = c.e AND b.valid_from <= $3::date AND (b.valid_to IS NULL OR b.valid_to > $3::date)
),
ch AS (
    SELECT t.tech, st.n, st.e, st.hh, t.before, t.after
    FROM st CROSS JOIN LATERAL (VALUES ('5g', st.nr0, st.nr1), ('lte', st.lte0, st.lte1)) AS t (tech, before, after)
),
fig AS (
    SELECT tech, json_build_object(
        'households_before', round(coalesce(sum(hh) FILTER (WHERE before), 0)::numeric, 1),
        'households_after', round(coalesce(sum(hh) FILTER (WHERE after), 0)::numeric, 1),
        'households_gained', round(coalesce(sum(hh) FILTER (WHERE after AND NOT before), 0)::numeric, 1),
        'households_lost', round(coalesce(sum(hh) FILTER (WHERE before AND NOT after), 0)::numeric, 1),
        'cells_gained', count(*) FILTER (WHERE after AND NOT before),
        'cells_lost', count(*) FILTER (WHERE before AND NOT after),
        'area_gained_km2', count(*) FILTER (WHERE after AND NOT before) * 0.01,
        'area_lost_km2', count(*) FILTER (WHERE before AND NOT after) * 0.01
    ) AS f
    FROM ch GROUP BY tech
),
geo AS (
    SELECT tech, CASE WHEN after THEN 'gained' ELSE 'lost' END AS change, count(*) AS cells, sum(hh) AS hh,
           ST_Union(ST_MakeEnvelope(e * 100, n * 100, e * 100 + 100, n * 100 + 100, 25832)) AS geom
    FROM ch WHERE before <> after
    GROUP BY 1, 2
)
SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM municipality WHERE ags = $1) THEN NULL ELSE json_build_object(
    'ags', $1::text,
    'name', (SELECT name FROM municipality WHERE ags = $1),
    'from', $2::date,
    'to', $3::date,
    'source', 'reported',
    'cells', (SELECT count(*) FROM cells),
    'technologies', coalesce((SELECT json_object_agg(tech, f) FROM fig), '{}'::json),
    'dead_spot_area_km2', json_build_object(
        'before', (SELECT count(*) FILTER (WHERE NOT lte0) FROM st) * 0.01,
        'after', (SELECT count(*) FILTER (WHERE NOT lte1) FROM st) * 0.01),
    'changed_areas', json_build_object('type', 'FeatureCollection', 'features', coalesce((
        SELECT json_agg(json_build_object(
            'type', 'Feature',
            'id', $1::text || '-' || tech || '-' || change,
            'geometry', ST_AsGeoJSON(ST_Transform(geom, 4326), 6)::json,
            'properties', json_build_object('technology', tech, 'change', change, 'cells', cells,
                                            'households', round(hh::numeric, 1), 'area_km2', cells * 0.01))
            ORDER BY tech, change)
        FROM geo), '[]'::json))
)::text END AS changes
