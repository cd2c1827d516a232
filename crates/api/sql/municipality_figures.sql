-- The figures of one municipality as DESIGN §7 shows them, built in one
-- statement. Shares are fractions 0..1; `operators` appears only where
-- per-operator rows exist; a cell is 0.01 km².
WITH m AS (
    SELECT ags, name, households AS file_households, area_km2 FROM municipality WHERE ags = $1
), cov AS (
    SELECT c.*, CASE WHEN c.households > 0 THEN c.households_covered / c.households ELSE 0 END AS hh_share,
           CASE WHEN c.cells > 0 THEN c.cells_covered::float8 / c.cells ELSE 0 END AS area_share
    FROM coverage_result c WHERE c.ags = $1
), ops AS (
    SELECT o.scenario, o.technology,
           json_object_agg(o.operator_id, json_build_object(
               'households_covered', round(o.households_covered::numeric, 1)::float8,
               'household_share', round((CASE WHEN c.households > 0 THEN o.households_covered / c.households ELSE 0 END)::numeric, 6)::float8,
               'area_share', round((CASE WHEN c.cells > 0 THEN o.cells_covered::float8 / c.cells ELSE 0 END)::numeric, 6)::float8)
               ORDER BY o.operator_id) AS operators
    FROM coverage_operator_result o
    JOIN coverage_result c USING (scenario, ags, technology)
    WHERE o.ags = $1
    GROUP BY o.scenario, o.technology
), tech AS (
    SELECT c.scenario,
           json_object_agg(c.technology,
               json_strip_nulls(json_build_object(
                   'households_covered', round(c.households_covered::numeric, 1)::float8,
                   'household_share', round(c.hh_share::numeric, 6)::float8,
                   'area_share', round(c.area_share::numeric, 6)::float8,
                   'dead_spot_area_km2', CASE WHEN c.technology = 'lte' THEN round((c.dead_cells * 0.01)::numeric, 2)::float8 END,
                   'grey_spot_area_km2', CASE WHEN c.technology = 'lte' THEN round((c.grey_cells * 0.01)::numeric, 2)::float8 END,
                   'operators', o.operators))
               ORDER BY c.technology) AS j
    FROM cov c
    LEFT JOIN ops o ON o.scenario = c.scenario AND o.technology = c.technology
    GROUP BY c.scenario
), sites AS (
    SELECT json_object_agg(status, n ORDER BY status) AS j
    FROM (SELECT status, count(*) AS n FROM site WHERE ags = $1 GROUP BY status) s
), measures AS (
    SELECT json_object_agg(kind, by_status ORDER BY kind) AS j
    FROM (
        SELECT kind, json_object_agg(status, n ORDER BY status) AS by_status
        FROM (SELECT x.kind, x.status, count(*) AS n
              FROM measure x JOIN site s ON s.site_id = x.site_id
              WHERE s.ags = $1 GROUP BY x.kind, x.status) k
        GROUP BY kind
    ) y
), latest AS (
    SELECT source, computed_at FROM cov WHERE NOT scenario ORDER BY computed_at DESC LIMIT 1
)
SELECT json_build_object(
    'ags', m.ags,
    'name', m.name,
    'households', round(coalesce((SELECT households FROM cov WHERE NOT scenario ORDER BY technology LIMIT 1), m.file_households)::numeric, 1)::float8,
    'area_km2', round(m.area_km2::numeric, 3)::float8,
    'coverage', coalesce((SELECT j FROM tech WHERE NOT scenario), '{}'::json),
    'scenario', (SELECT j FROM tech WHERE scenario),
    'sites', coalesce((SELECT j FROM sites), '{}'::json),
    'measures', coalesce((SELECT j FROM measures), '{}'::json),
    'source', (SELECT source FROM latest),
    'computed_at', (SELECT to_char(computed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') FROM latest)
)::text
FROM m
