-- Planner reference, step 3: the open cells of scope $2 (AGS prefix) for
-- technology $1: no operator in the reported coverage (unless source $3
-- is 'modelled') and no scenario site within its radius.
INSERT INTO plan_open
SELECT g.n::bigint * 100000 + g.e, ST_Point(g.e * 100 + 50, g.n * 100 + 50, 25832), coalesce(h.households::float8, 0)
FROM grid_cell g JOIN municipality mu ON mu.ags = g.ags
LEFT JOIN household_cell h USING (n, e)
LEFT JOIN reported_coverage rc USING (n, e)
WHERE g.ags LIKE $2::text || '%'
  AND ($3::text = 'modelled' OR coalesce(CASE $1::text WHEN 'lte' THEN rc.lte_count ELSE rc.nr_count END, 0) = 0)
  -- The box test with the largest radius lets the GiST index on the
  -- sites answer (a radius from the sites' own rows cannot).
  AND NOT EXISTS (SELECT 1 FROM plan_site s
                  WHERE s.geom && ST_Expand(ST_Point(g.e * 100 + 50, g.n * 100 + 50, 25832), (SELECT max(radius_m) FROM plan_site))
                    AND ST_DWithin(s.geom, ST_Point(g.e * 100 + 50, g.n * 100 + 50, 25832), s.radius_m))
