-- PostGIS reference of the dead-spot planner (issue 23), step 1: the temp
-- tables. The formulation a GIS analyst would write: the open cells as
-- points (dead: no reported and no modelled coverage in the scenario), the
-- candidates as points with radii, the pairs by ST_DWithin, and a plain
-- greedy loop over the pairs (plan_ref_step.sql, plan_ref_mark.sql). Only
-- the plan for any operator (dead spots) without grey cells; the test
-- oracle and the benchmark peer of the engine's planner.
SET work_mem = '256MB';
DROP TABLE IF EXISTS plan_hh, plan_site, plan_open, plan_cand, plan_pair;
-- Household cell centres of the municipalities' grid cells, for the
-- urban/rural rule of the existing sites (as reference_prepare.sql).
CREATE TEMP TABLE plan_hh AS
SELECT ST_Point(g.e * 100 + 50, g.n * 100 + 50, 25832) AS pt, h.households::float8 AS hh
FROM grid_cell g JOIN municipality mu ON mu.ags = g.ags JOIN household_cell h USING (n, e)
WHERE h.households > 0;
CREATE INDEX ON plan_hh USING gist (pt);
ANALYZE plan_hh;
CREATE TEMP TABLE plan_site (site_id text, geom geometry(Point, 25832), radius_m float8);
CREATE TEMP TABLE plan_open (cell bigint PRIMARY KEY, pt geometry(Point, 25832), hh float8);
CREATE TEMP TABLE plan_cand (idx int PRIMARY KEY, geom geometry(Point, 25832), radius_m float8);
CREATE TEMP TABLE plan_pair (idx int, cell bigint, hh float8);
