-- PostGIS reference, step 1 (DESIGN §9): the same figures as the engine,
-- in plain SQL, as a GIS analyst would write them. It is the test oracle
-- and the benchmark peer of the engine.
--
-- Rules, identical to the engine's:
-- * a site covers a grid cell when ST_DWithin(site, cell centre, radius),
--   i.e. distance <= radius (inclusive); the centre of cell (n, e) is
--   (e*100+50, n*100+50) in EPSG:25832;
-- * a site is urban when the households of grid cells whose centres lie
--   within urban_density_radius_m, divided by pi r^2 (km^2), exceed
--   urban_households_per_km2;
-- * actual: on-air sites with the technology listed; scenario: as if
--   every planned/in-progress measure were completed (its technology
--   added, a not-yet-built site put on air; decommissioned sites stay off).
DROP TABLE IF EXISTS ref_site, ref_cell, ref_hh, ref_grid;

-- Household cell centres as points with a GiST index, for the density
-- around each site (grid cells only: households outside every
-- municipality do not count, as in the engine).
CREATE TEMP TABLE ref_hh AS
SELECT ST_Point(g.e * 100 + 50, g.n * 100 + 50, 25832) AS pt, h.households::float8 AS hh
FROM grid_cell g JOIN municipality mu ON mu.ags = g.ags JOIN household_cell h USING (n, e)
WHERE h.households > 0;
CREATE INDEX ON ref_hh USING gist (pt);
ANALYZE ref_hh;

CREATE TEMP TABLE ref_site AS
WITH p AS (
    SELECT (SELECT value FROM coverage_param WHERE key = 'urban_households_per_km2') AS thr,
           (SELECT value FROM coverage_param WHERE key = 'urban_density_radius_m') AS dr
), m AS (
    SELECT site_id, array_agg(DISTINCT kind) FILTER (WHERE status IN ('planned', 'in_progress')) AS open_kinds
    FROM measure GROUP BY site_id
), s AS (
    SELECT s.site_id, o.bit, s.geom, s.status, s.technologies, coalesce(m.open_kinds, '{}') AS open_kinds
    FROM site s JOIN operator o ON o.id = s.operator_id LEFT JOIN m USING (site_id)
), st AS (
    SELECT s.site_id, s.bit, s.geom, t.tech,
           (s.status = 'on_air' AND t.tech = ANY (s.technologies)) AS actual,
           (s.status <> 'decommissioned' AND (
               (s.status = 'on_air' AND t.tech = ANY (s.technologies))
               OR (cardinality(s.open_kinds) > 0 AND (
                   t.tech = ANY (s.technologies)
                   OR (t.tech = 'lte' AND s.open_kinds && ARRAY['lte_new_site', 'lte_upgrade'])
                   OR (t.tech = '5g' AND '5g_upgrade' = ANY (s.open_kinds)))))) AS scenario
    FROM s CROSS JOIN (VALUES ('lte'), ('5g')) AS t (tech)
), dens AS MATERIALIZED (
    -- Once per site (materialised: as an inlined scalar subquery the
    -- planner evaluated it per site, technology and each of its uses,
    -- four GiST probes per site instead of one).
    SELECT s.site_id, coalesce(d.hh, 0) / (pi() * p.dr * p.dr / 1e6) > p.thr AS urban
    FROM s CROSS JOIN p
    CROSS JOIN LATERAL (SELECT sum(h.hh) AS hh FROM ref_hh h WHERE ST_DWithin(h.pt, s.geom, p.dr)) d
    WHERE s.status <> 'decommissioned'
)
SELECT st.site_id, st.bit, st.geom, st.tech, CASE WHEN dens.urban THEN 'urban' ELSE 'rural' END AS setting,
       r.radius_m, st.actual
FROM st JOIN dens USING (site_id)
JOIN coverage_radius r ON r.technology = st.tech AND r.setting = CASE WHEN dens.urban THEN 'urban' ELSE 'rural' END
WHERE st.actual OR st.scenario;

-- One partial GiST index per (technology, setting) class: each probe below
-- names its class with literals, so it reads only that class's sites
-- within that class's radius (a constant per probe), never the sites of
-- the other classes that a shared index would hand back for the largest
-- radius.
CREATE INDEX ON ref_site USING gist (geom) WHERE tech = 'lte' AND setting = 'urban';
CREATE INDEX ON ref_site USING gist (geom) WHERE tech = 'lte' AND setting = 'rural';
CREATE INDEX ON ref_site USING gist (geom) WHERE tech = '5g' AND setting = 'urban';
CREATE INDEX ON ref_site USING gist (geom) WHERE tech = '5g' AND setting = 'rural';
ANALYZE ref_site;

-- The grid cells of the municipalities with their centres as points,
-- built once (not once per candidate site).
CREATE TEMP TABLE ref_grid AS
SELECT g.n, g.e, g.ags, ST_Point(g.e * 100 + 50, g.n * 100 + 50, 25832) AS pt
FROM grid_cell g JOIN municipality mu ON mu.ags = g.ags;

-- Per cell and technology: households, the reported count and set, and the
-- modelled operator masks (actual, scenario). Per cell one GiST probe per
-- (technology, setting) class, on that class's partial index with that
-- class's radius (constant per probe, so the index applies).
CREATE TEMP TABLE ref_cell AS
WITH rad AS (
    SELECT max(radius_m) FILTER (WHERE technology = 'lte' AND setting = 'urban') AS lu,
           max(radius_m) FILTER (WHERE technology = 'lte' AND setting = 'rural') AS lr,
           max(radius_m) FILTER (WHERE technology = '5g' AND setting = 'urban') AS nu,
           max(radius_m) FILTER (WHERE technology = '5g' AND setting = 'rural') AS nr
    FROM coverage_radius
), m AS (
    SELECT g.n, g.e, g.ags,
           coalesce(lu.a, 0) | coalesce(lr.a, 0) AS lte_act, coalesce(lu.s, 0) | coalesce(lr.s, 0) AS lte_scen,
           coalesce(nu.a, 0) | coalesce(nr.a, 0) AS nr_act, coalesce(nu.s, 0) | coalesce(nr.s, 0) AS nr_scen
    FROM ref_grid g CROSS JOIN rad
    CROSS JOIN LATERAL (
        SELECT bit_or(1 << rs.bit) FILTER (WHERE rs.actual) AS a, bit_or(1 << rs.bit) AS s FROM ref_site rs
        WHERE rs.tech = 'lte' AND rs.setting = 'urban' AND ST_DWithin(rs.geom, g.pt, rad.lu)
    ) lu
    CROSS JOIN LATERAL (
        SELECT bit_or(1 << rs.bit) FILTER (WHERE rs.actual) AS a, bit_or(1 << rs.bit) AS s FROM ref_site rs
        WHERE rs.tech = 'lte' AND rs.setting = 'rural' AND ST_DWithin(rs.geom, g.pt, rad.lr)
    ) lr
    CROSS JOIN LATERAL (
        SELECT bit_or(1 << rs.bit) FILTER (WHERE rs.actual) AS a, bit_or(1 << rs.bit) AS s FROM ref_site rs
        WHERE rs.tech = '5g' AND rs.setting = 'urban' AND ST_DWithin(rs.geom, g.pt, rad.nu)
    ) nu
    CROSS JOIN LATERAL (
        SELECT bit_or(1 << rs.bit) FILTER (WHERE rs.actual) AS a, bit_or(1 << rs.bit) AS s FROM ref_site rs
        WHERE rs.tech = '5g' AND rs.setting = 'rural' AND ST_DWithin(rs.geom, g.pt, rad.nr)
    ) nr
)
SELECT m.ags, t.tech,
       coalesce(h.households::float8, 0) AS hh,
       coalesce(CASE t.tech WHEN 'lte' THEN rc.lte_count ELSE rc.nr_count END, 0)::int AS rc,
       CASE t.tech WHEN 'lte' THEN rc.lte_operators ELSE rc.nr_operators END AS rmask,
       CASE t.tech WHEN 'lte' THEN m.lte_act ELSE m.nr_act END AS m_act,
       CASE t.tech WHEN 'lte' THEN m.lte_scen ELSE m.nr_scen END AS m_scen
FROM m
LEFT JOIN household_cell h USING (n, e)
LEFT JOIN reported_coverage rc USING (n, e)
CROSS JOIN (VALUES ('lte'), ('5g')) AS t (tech);
