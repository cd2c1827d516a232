-- The figures of one municipality as DESIGN §7 shows them, built in one
-- statement: its rows here, the figures from them in `figures.sql`.
-- $1 = AGS.
WITH m AS (
    SELECT ags, name, households AS file_households, area_km2 FROM municipality WHERE ags = $1
), cov AS (
    SELECT * FROM coverage_result WHERE ags = $1
), opr AS (
    SELECT * FROM coverage_operator_result WHERE ags = $1
), place_site AS (
    SELECT status FROM site WHERE ags = $1
), place_measure AS (
    SELECT x.kind, x.status FROM measure x JOIN site s ON s.site_id = x.site_id WHERE s.ags = $1
),
--@include figures.sql
SELECT json_build_object(
    'ags', m.ags,
    'name', m.name,
    'households', round(coalesce((SELECT households FROM sums WHERE NOT scenario ORDER BY technology LIMIT 1), m.file_households)::numeric, 1)::float8,
    'area_km2', round(m.area_km2::numeric, 3)::float8,
    'coverage', coalesce((SELECT j FROM tech WHERE NOT scenario), '{}'::json),
    'scenario', (SELECT j FROM tech WHERE scenario),
    'sites', coalesce((SELECT j FROM sites), '{}'::json),
    'measures', coalesce((SELECT j FROM measures), '{}'::json),
    'source', (SELECT source FROM latest),
    'computed_at', (SELECT to_char(computed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') FROM latest)
)::text AS figures
FROM m
