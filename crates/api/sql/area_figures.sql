-- The figures of an area — a district (Kreis or kreisfreie Stadt: the first
-- five AGS digits, $1 of length 5) or a Regierungsbezirk (the first three,
-- length 3) — from the engine's per-municipality results: household and
-- cell counts are summed and shares divided once, never averaged or summed
-- from rounded shares, so an area's share is exactly what the engine would
-- give for the area. Also its municipalities with their main figures.
-- $1 = AGS prefix, $2 = level ('district' or 'region').
WITH m AS (
    SELECT ags, name, kind, area_km2, households FROM municipality WHERE ags LIKE $1 || '%'
), sums AS (
    SELECT c.scenario, c.technology, sum(c.households) AS households, sum(c.households_covered) AS households_covered,
           sum(c.cells)::float8 AS cells, sum(c.cells_covered)::float8 AS cells_covered,
           sum(c.dead_cells)::float8 AS dead_cells, sum(c.grey_cells)::float8 AS grey_cells,
           max(c.computed_at) AS computed_at, min(c.source) AS source
    FROM coverage_result c WHERE c.ags LIKE $1 || '%'
    GROUP BY c.scenario, c.technology
), ops AS (
    SELECT o.scenario, o.technology,
           json_object_agg(o.operator_id, json_build_object(
               'households_covered', round(o.hc::numeric, 1)::float8,
               'household_share', round((CASE WHEN s.households > 0 THEN o.hc / s.households ELSE 0 END)::numeric, 6)::float8,
               'area_share', round((CASE WHEN s.cells > 0 THEN o.cc / s.cells ELSE 0 END)::numeric, 6)::float8)
               ORDER BY o.operator_id) AS operators
    FROM (SELECT scenario, technology, operator_id, sum(households_covered) AS hc, sum(cells_covered)::float8 AS cc
          FROM coverage_operator_result WHERE ags LIKE $1 || '%' GROUP BY 1, 2, 3) o
    JOIN sums s USING (scenario, technology)
    GROUP BY o.scenario, o.technology
), tech AS (
    SELECT s.scenario,
           json_object_agg(s.technology,
               json_strip_nulls(json_build_object(
                   'households_covered', round(s.households_covered::numeric, 1)::float8,
                   'household_share', round((CASE WHEN s.households > 0 THEN s.households_covered / s.households ELSE 0 END)::numeric, 6)::float8,
                   'area_share', round((CASE WHEN s.cells > 0 THEN s.cells_covered / s.cells ELSE 0 END)::numeric, 6)::float8,
                   'dead_spot_area_km2', CASE WHEN s.technology = 'lte' THEN round((s.dead_cells * 0.01)::numeric, 2)::float8 END,
                   'grey_spot_area_km2', CASE WHEN s.technology = 'lte' THEN round((s.grey_cells * 0.01)::numeric, 2)::float8 END,
                   'operators', o.operators))
               ORDER BY s.technology) AS j
    FROM sums s
    LEFT JOIN ops o ON o.scenario = s.scenario AND o.technology = s.technology
    GROUP BY s.scenario
), members AS (
    SELECT json_agg(json_build_object(
               'ags', m.ags, 'name', m.name, 'kind', m.kind,
               'households', round(coalesce(cl.households, c5.households, m.households)::numeric, 1)::float8,
               'area_km2', round(m.area_km2::numeric, 3)::float8,
               'household_share_5g', round((c5.households_covered / nullif(c5.households, 0))::numeric, 6)::float8,
               'area_share_5g', round((c5.cells_covered::float8 / nullif(c5.cells, 0))::numeric, 6)::float8,
               'household_share_lte', round((cl.households_covered / nullif(cl.households, 0))::numeric, 6)::float8,
               'area_share_lte', round((cl.cells_covered::float8 / nullif(cl.cells, 0))::numeric, 6)::float8,
               'dead_spot_area_km2', round((cl.dead_cells * 0.01)::numeric, 2)::float8)
               ORDER BY m.ags) AS j
    FROM m
    LEFT JOIN coverage_result c5 ON c5.ags = m.ags AND NOT c5.scenario AND c5.technology = '5g'
    LEFT JOIN coverage_result cl ON cl.ags = m.ags AND NOT cl.scenario AND cl.technology = 'lte'
), sites AS (
    SELECT json_object_agg(status, n ORDER BY status) AS j
    FROM (SELECT status, count(*) AS n FROM site WHERE ags LIKE $1 || '%' GROUP BY status) s
), measures AS (
    SELECT json_object_agg(kind, by_status ORDER BY kind) AS j
    FROM (
        SELECT kind, json_object_agg(status, n ORDER BY status) AS by_status
        FROM (SELECT x.kind, x.status, count(*) AS n
              FROM measure x JOIN site s ON s.site_id = x.site_id
              WHERE s.ags LIKE $1 || '%' GROUP BY x.kind, x.status) k
        GROUP BY kind
    ) y
), latest AS (
    SELECT source, computed_at FROM sums WHERE NOT scenario ORDER BY computed_at DESC LIMIT 1
), named AS (
    -- A kreisfreie Stadt is its one municipality (AGS ...000), named in the
    -- data; a Kreis or Regierungsbezirk has no name in the shipped data
    -- (VG5000 holds municipalities only) and is called by its key.
    SELECT CASE
               WHEN $2 = 'district' AND count(*) = 1 AND min(m.ags) = $1 || '000' THEN min(m.name)
               WHEN $2 = 'district' THEN 'Kreis ' || $1
               ELSE 'Regierungsbezirk ' || $1
           END AS name,
           CASE
               WHEN $2 = 'district' AND count(*) = 1 AND min(m.ags) = $1 || '000' THEN 'Kreisfreie Stadt'
               WHEN $2 = 'district' THEN 'Kreis'
               ELSE 'Regierungsbezirk'
           END AS kind
    FROM m
)
SELECT json_build_object(
    'ags', $1::text,
    'level', $2::text,
    'name', (SELECT name FROM named),
    'kind', (SELECT kind FROM named),
    'households', round((SELECT households FROM sums WHERE NOT scenario ORDER BY technology LIMIT 1)::numeric, 1)::float8,
    'area_km2', round((SELECT sum(area_km2) FROM m)::numeric, 3)::float8,
    'coverage', coalesce((SELECT j FROM tech WHERE NOT scenario), '{}'::json),
    'scenario', (SELECT j FROM tech WHERE scenario),
    'sites', coalesce((SELECT j FROM sites), '{}'::json),
    'measures', coalesce((SELECT j FROM measures), '{}'::json),
    'municipalities', coalesce((SELECT j FROM members), '[]'::json),
    'source', (SELECT source FROM latest),
    'computed_at', (SELECT to_char(computed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') FROM latest)
)::text
WHERE EXISTS (SELECT 1 FROM m)
