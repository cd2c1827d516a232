-- The figures a place — a municipality or an area of them — is described
-- by, shared by `municipality_figures.sql` and `area_figures.sql`: each
-- defines the place's rows first and includes this file at its include
-- marker (see `routes/figures.rs`). Inputs (CTEs of the including query):
--   cov            the place's coverage_result rows
--   opr            the place's coverage_operator_result rows
--   place_site     the place's sites (status)
--   place_measure  the measures at the place's sites (kind, status)
-- Household and cell counts are summed and shares divided once, never
-- averaged or summed from rounded shares, so an area's share is exactly
-- what the engine would give for the area (for one municipality the sums
-- are its own row). Shares are fractions 0..1; `operators` appears only
-- where per-operator rows exist; a cell is 0.01 km². Outputs:
--   sums      per (scenario, technology): the summed counts, source, computed_at
--   tech      per scenario: the figures by technology as JSON (j)
--   sites     sites by status as JSON (j)
--   measures  measures by kind, then status, as JSON (j)
--   latest    source and computed_at of the newest actual result
sums AS (
    SELECT c.scenario, c.technology, sum(c.households) AS households, sum(c.households_covered) AS households_covered,
           sum(c.cells)::float8 AS cells, sum(c.cells_covered)::float8 AS cells_covered,
           sum(c.dead_cells)::float8 AS dead_cells, sum(c.grey_cells)::float8 AS grey_cells,
           max(c.computed_at) AS computed_at, min(c.source) AS source
    FROM cov c
    GROUP BY c.scenario, c.technology
), ops AS (
    SELECT o.scenario, o.technology,
           json_object_agg(o.operator_id, json_build_object(
               'households_covered', round(o.hc::numeric, 1)::float8,
               'household_share', round((CASE WHEN s.households > 0 THEN o.hc / s.households ELSE 0 END)::numeric, 6)::float8,
               'area_share', round((CASE WHEN s.cells > 0 THEN o.cc / s.cells ELSE 0 END)::numeric, 6)::float8)
               ORDER BY o.operator_id) AS operators
    FROM (SELECT scenario, technology, operator_id, sum(households_covered) AS hc, sum(cells_covered)::float8 AS cc
          FROM opr GROUP BY 1, 2, 3) o
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
), sites AS (
    SELECT json_object_agg(status, n ORDER BY status) AS j
    FROM (SELECT status, count(*) AS n FROM place_site GROUP BY status) s
), measures AS (
    SELECT json_object_agg(kind, by_status ORDER BY kind) AS j
    FROM (
        SELECT kind, json_object_agg(status, n ORDER BY status) AS by_status
        FROM (SELECT kind, status, count(*) AS n FROM place_measure GROUP BY kind, status) k
        GROUP BY kind
    ) y
), latest AS (
    SELECT source, computed_at FROM sums WHERE NOT scenario ORDER BY computed_at DESC LIMIT 1
)
