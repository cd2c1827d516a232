-- The figures of an area — a district (Kreis or kreisfreie Stadt: the first
-- five AGS digits, $1 of length 5) or a Regierungsbezirk (the first three,
-- length 3) — from the engine's per-municipality results: its rows here,
-- the figures from them in `figures.sql` (counts summed, shares divided
-- once). Also its municipalities with their main figures.
-- $1 = AGS prefix, $2 = level ('district' or 'region').
WITH m AS (
    SELECT ags, name, kind, area_km2, households FROM municipality WHERE ags LIKE $1 || '%'
), cov AS (
    SELECT * FROM coverage_result WHERE ags LIKE $1 || '%'
), opr AS (
    SELECT * FROM coverage_operator_result WHERE ags LIKE $1 || '%'
), place_site AS (
    SELECT status FROM site WHERE ags LIKE $1 || '%'
), place_measure AS (
    SELECT x.kind, x.status FROM measure x JOIN site s ON s.site_id = x.site_id WHERE s.ags LIKE $1 || '%'
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
), named AS (
    -- A kreisfreie Stadt is its one municipality (AGS ...000), named in the
    -- data; a Kreis or Regierungsbezirk by area_name (migration V61), else
    -- (outside NRW's names) by its key.
    SELECT CASE
               WHEN $2 = 'district' AND count(*) = 1 AND min(m.ags) = $1 || '000' THEN min(m.name)
               WHEN $2 = 'district' THEN coalesce((SELECT a.name FROM area_name a WHERE a.ags = $1), 'Kreis ' || $1)
               ELSE coalesce((SELECT a.name FROM area_name a WHERE a.ags = $1), 'Regierungsbezirk ' || $1)
           END AS name,
           CASE
               WHEN $2 = 'district' AND count(*) = 1 AND min(m.ags) = $1 || '000' THEN 'Kreisfreie Stadt'
               WHEN $2 = 'district' THEN 'Kreis'
               ELSE 'Regierungsbezirk'
           END AS kind
    FROM m
),
--@include figures.sql
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
)::text AS figures
WHERE EXISTS (SELECT 1 FROM m)
