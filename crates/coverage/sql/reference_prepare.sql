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
--
-- Where the time goes, and how this avoids it: 3.4 M cells at NRW scale,
-- ~40 k site disks of up to 4 km (about 90 M site-cell pairs). One GiST
-- probe per cell, or one ST_DWithin per site-cell pair, is minutes of
-- work, yet a cell only needs to know WHICH operators reach it. So the
-- cells are grouped into 1 km tiles, and a site that covers a whole tile
-- (ST_DFullyWithin on the rectangle spanned by the tile's cell centres:
-- its farthest point is a corner, itself a cell centre, measured as
-- ST_DWithin measures; every centre inside is nearer by tens of metres, a
-- disk being convex) gives its operator to all the tile's cells at once;
-- only sites reaching part of a tile, for an operator not already covering
-- the whole tile, are tested cell by cell. At NRW that leaves ~95 k
-- site-tile pairs of ~1.27 M (0.61 M whole) to test per cell.
--
-- The per-cell results are then summed per municipality and cell state
-- (reported count and set, modelled masks) into ref_state: the figures of
-- every source are sums over those states (reference_figures.sql,
-- reference_operators.sql through the view ref_source).
--
-- A date (issue 16): the actual figures are those at that date, as the
-- engine's figures_at counts them. The reported coverage counted is
-- `ref_reported`, set up before this script (reference.rs): for now a view
-- of reported_coverage (planned as before releases), for a date the
-- release in force then (reference_reported_at.sql). The sites on air are
-- those of the session setting funkplan.reference_as_of ('' = now): a
-- technology on air now and since that date or earlier (its first
-- completed measure or the site's on-air date, none = always). The
-- scenario is not dated.
--
-- Big joins and aggregates stay in memory (reset at the end: the session
-- may come from a pool).
SET work_mem = '256MB';
DROP VIEW IF EXISTS ref_source;
DROP TABLE IF EXISTS ref_hh, ref_site, ref_grid, ref_tile, ref_reach, ref_tile_ops, ref_part, ref_hit, ref_state;

-- The grid cells of the municipalities, built once: centre, households,
-- reported count and operator set per technology, and the 1 km tile of
-- 10 x 10 cells it lies in. Cell and tile each get one integer key:
-- PostgreSQL misjudges hash joins on two-column keys like (n, e) and
-- falls back to sorting millions of rows. (Grid keys in EPSG:25832 are
-- positive and e < 10 000 — NRW: n 55 995..57 675, e 2 895..4 946 —
-- so integer division is the floor and the keys are unique.)
CREATE TEMP TABLE ref_grid AS
SELECT g.n::bigint * 100000 + g.e AS cell, (g.n / 10) * 10000 + g.e / 10 AS tile, g.ags,
       ST_Point(g.e * 100 + 50, g.n * 100 + 50, 25832) AS pt,
       coalesce(h.households::float8, 0) AS hh,
       coalesce(rc.lte_count, 0)::int AS lte_rc, rc.lte_operators AS lte_rmask,
       coalesce(rc.nr_count, 0)::int AS nr_rc, rc.nr_operators AS nr_rmask
FROM grid_cell g JOIN municipality mu ON mu.ags = g.ags
LEFT JOIN household_cell h USING (n, e)
LEFT JOIN ref_reported rc USING (n, e);
ANALYZE ref_grid;

-- Household cell centres as points with a GiST index, for the density
-- around each site (grid cells only: households outside every
-- municipality do not count, as in the engine). Stored tile by tile, so
-- that one site's probe reads a few neighbouring pages, not rows of cells
-- scattered over the table (NRW: 10.1 → 7.7 s CPU for the densities).
CREATE TEMP TABLE ref_hh AS
SELECT pt, hh FROM ref_grid WHERE hh > 0 ORDER BY tile;
CREATE INDEX ON ref_hh USING gist (pt);
ANALYZE ref_hh;

-- Per site and technology it serves (actual or in the scenario): its
-- operator bit, setting and radius.
CREATE TEMP TABLE ref_site AS
WITH p AS (
    SELECT (SELECT value FROM coverage_param WHERE key = 'urban_households_per_km2') AS thr,
           (SELECT value FROM coverage_param WHERE key = 'urban_density_radius_m') AS dr
), m AS (
    SELECT site_id, array_agg(DISTINCT kind) FILTER (WHERE status IN ('planned', 'in_progress')) AS open_kinds,
           min(completed_date) FILTER (WHERE status = 'completed' AND kind IN ('lte_new_site', 'lte_upgrade')) AS lte_done,
           min(completed_date) FILTER (WHERE status = 'completed' AND kind = '5g_upgrade') AS nr_done
    FROM measure GROUP BY site_id
), s AS (
    SELECT s.site_id, o.bit, s.geom, s.status, s.technologies, coalesce(m.open_kinds, '{}') AS open_kinds,
           least(s.on_air_date, m.lte_done) AS lte_since, coalesce(m.nr_done, s.on_air_date) AS nr_since
    FROM site s JOIN operator o ON o.id = s.operator_id LEFT JOIN m USING (site_id)
), st AS (
    SELECT s.site_id, s.bit, s.geom, t.tech,
           (s.status = 'on_air' AND t.tech = ANY (s.technologies)
            AND (d.as_of IS NULL OR coalesce(CASE t.tech WHEN 'lte' THEN s.lte_since ELSE s.nr_since END <= d.as_of, true))) AS actual,
           (s.status <> 'decommissioned' AND (
               (s.status = 'on_air' AND t.tech = ANY (s.technologies))
               OR (cardinality(s.open_kinds) > 0 AND (
                   t.tech = ANY (s.technologies)
                   OR (t.tech = 'lte' AND s.open_kinds && ARRAY['lte_new_site', 'lte_upgrade'])
                   OR (t.tech = '5g' AND '5g_upgrade' = ANY (s.open_kinds)))))) AS scenario
    FROM s CROSS JOIN (VALUES ('lte'), ('5g')) AS t (tech)
    CROSS JOIN (SELECT nullif(current_setting('funkplan.reference_as_of', true), '')::date AS as_of) d
), dens AS MATERIALIZED (
    -- Once per site (materialised: as an inlined scalar subquery the
    -- planner evaluated it per site, technology and each of its uses).
    SELECT s.site_id, coalesce(d.hh, 0) / (pi() * p.dr * p.dr / 1e6) > p.thr AS urban
    FROM s CROSS JOIN p
    CROSS JOIN LATERAL (SELECT sum(h.hh) AS hh FROM ref_hh h WHERE ST_DWithin(h.pt, s.geom, p.dr)) d
    WHERE s.status <> 'decommissioned'
)
SELECT st.site_id, st.bit, st.geom, st.tech, r.radius_m, st.actual
FROM st JOIN dens USING (site_id)
JOIN coverage_radius r ON r.technology = st.tech AND r.setting = CASE WHEN dens.urban THEN 'urban' ELSE 'rural' END
WHERE st.actual OR st.scenario;

-- The tiles holding cells, each as the rectangle spanned by its cell
-- centres (tile t covers n / 10 = t / 10000, e / 10 = t % 10000), with a
-- GiST index.
CREATE TEMP TABLE ref_tile AS
SELECT tile, ST_MakeEnvelope((tile % 10000) * 1000 + 50, (tile / 10000) * 1000 + 50,
                             (tile % 10000) * 1000 + 950, (tile / 10000) * 1000 + 950, 25832) AS box
FROM (SELECT DISTINCT tile FROM ref_grid) t;
CREATE INDEX ON ref_tile USING gist (box);
ANALYZE ref_tile;

-- Per site and each tile it reaches: whether it covers the whole tile.
CREATE TEMP TABLE ref_reach AS
SELECT t.tile, s.tech, s.bit, s.actual, s.geom, s.radius_m, ST_DFullyWithin(t.box, s.geom, s.radius_m) AS whole
FROM ref_site s JOIN ref_tile t ON ST_DWithin(t.box, s.geom, s.radius_m);

-- Per tile and technology: the operators covering the whole tile, actual
-- and scenario.
CREATE TEMP TABLE ref_tile_ops AS
SELECT t.tile,
       coalesce(bit_or(1 << r.bit) FILTER (WHERE r.whole AND r.actual AND r.tech = 'lte'), 0) AS lte_a,
       coalesce(bit_or(1 << r.bit) FILTER (WHERE r.whole AND r.tech = 'lte'), 0) AS lte_s,
       coalesce(bit_or(1 << r.bit) FILTER (WHERE r.whole AND r.actual AND r.tech = '5g'), 0) AS nr_a,
       coalesce(bit_or(1 << r.bit) FILTER (WHERE r.whole AND r.tech = '5g'), 0) AS nr_s
FROM ref_tile t LEFT JOIN ref_reach r USING (tile)
GROUP BY t.tile;
ANALYZE ref_tile_ops;

-- The sites reaching part of a tile that could add an operator there:
-- one not already covering the whole tile (actual or scenario).
CREATE TEMP TABLE ref_part AS
SELECT r.tile, r.tech, r.bit, r.actual, r.geom, r.radius_m
FROM ref_reach r JOIN ref_tile_ops o USING (tile)
WHERE NOT r.whole
  AND ((r.actual AND (CASE r.tech WHEN 'lte' THEN o.lte_a ELSE o.nr_a END >> r.bit) & 1 = 0)
       OR (CASE r.tech WHEN 'lte' THEN o.lte_s ELSE o.nr_s END >> r.bit) & 1 = 0);
ANALYZE ref_part;

-- Per cell of those tiles: the operators such a site reaches (ST_DWithin
-- on the cell centre).
CREATE TEMP TABLE ref_hit AS
SELECT g.cell,
       coalesce(bit_or(1 << p.bit) FILTER (WHERE p.actual AND p.tech = 'lte'), 0) AS lte_a,
       coalesce(bit_or(1 << p.bit) FILTER (WHERE p.tech = 'lte'), 0) AS lte_s,
       coalesce(bit_or(1 << p.bit) FILTER (WHERE p.actual AND p.tech = '5g'), 0) AS nr_a,
       coalesce(bit_or(1 << p.bit) FILTER (WHERE p.tech = '5g'), 0) AS nr_s
FROM ref_part p JOIN ref_grid g ON g.tile = p.tile AND ST_DWithin(p.geom, g.pt, p.radius_m)
GROUP BY g.cell;
ANALYZE ref_hit;

-- Per municipality, technology and cell state: households and cells. The
-- state is the reported count and set (the set empty where the count is
-- 0, unknown where no mask was published) and the modelled masks, actual
-- and scenario. Grouped per cell state over both technologies first (one
-- row per cell), then split by technology (a few thousand rows).
CREATE TEMP TABLE ref_state AS
WITH cs AS (
    SELECT g.ags, g.lte_rc, g.lte_rmask, o.lte_a | coalesce(h.lte_a, 0) AS lte_a, o.lte_s | coalesce(h.lte_s, 0) AS lte_s,
           g.nr_rc, g.nr_rmask, o.nr_a | coalesce(h.nr_a, 0) AS nr_a, o.nr_s | coalesce(h.nr_s, 0) AS nr_s,
           sum(g.hh) AS hh, count(*) AS cells
    FROM ref_grid g JOIN ref_tile_ops o USING (tile) LEFT JOIN ref_hit h USING (cell)
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
)
SELECT cs.ags, v.tech, sum(cs.hh) AS hh, sum(cs.cells) AS cells, v.rc,
       CASE WHEN v.rmask IS NOT NULL THEN v.rmask WHEN v.rc = 0 THEN 0 END AS rset, v.m_act, v.m_scen
FROM cs CROSS JOIN LATERAL (VALUES
    ('lte', cs.lte_rc, cs.lte_rmask, cs.lte_a, cs.lte_s),
    ('5g', cs.nr_rc, cs.nr_rmask, cs.nr_a, cs.nr_s)
) v (tech, rc, rmask, m_act, m_scen)
GROUP BY cs.ags, v.tech, v.rc, v.rmask, v.m_act, v.m_scen;

-- Count and operator set per state for each source, as the engine
-- combines them:
--   reported: the published count; set = the reported set;
--   modelled: the modelled mask;
--   union:    the larger count; set = reported set | modelled where known.
CREATE TEMP VIEW ref_source AS
SELECT src.source, sc.scenario, s.ags, s.tech, s.hh, s.cells,
       CASE src.source
           WHEN 'modelled' THEN bit_count(y.m::bit(32))::int
           WHEN 'reported' THEN greatest(s.rc, coalesce(bit_count(s.rset::bit(32))::int, 0))
           ELSE greatest(s.rc, bit_count(y.m::bit(32))::int, coalesce(bit_count((s.rset | y.m)::bit(32))::int, 0))
       END AS cnt,
       CASE src.source WHEN 'modelled' THEN y.m WHEN 'reported' THEN s.rset ELSE s.rset | y.m END AS set
FROM ref_state s
CROSS JOIN (VALUES ('reported'), ('modelled'), ('union')) AS src (source)
CROSS JOIN (VALUES (false), (true)) AS sc (scenario)
CROSS JOIN LATERAL (SELECT CASE WHEN sc.scenario THEN s.m_scen ELSE s.m_act END AS m) y;

RESET work_mem;
