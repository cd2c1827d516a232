-- Planner reference, step 2: the sites serving technology $1 in the
-- scenario (on air with it, or an open measure adding it; decommissioned
-- sites off) within reach of scope $2, each with its radius by the
-- urban/rural rule.
INSERT INTO plan_site
WITH p AS (
    SELECT (SELECT value FROM coverage_param WHERE key = 'urban_households_per_km2') AS thr,
           (SELECT value FROM coverage_param WHERE key = 'urban_density_radius_m') AS dr
), m AS (
    SELECT site_id, array_agg(DISTINCT kind) FILTER (WHERE status IN ('planned', 'in_progress')) AS open_kinds
    FROM measure GROUP BY site_id
), s AS (
    SELECT s.site_id, s.geom FROM site s LEFT JOIN m USING (site_id)
    WHERE s.status <> 'decommissioned'
      AND ((s.status = 'on_air' AND $1::text = ANY (s.technologies))
           OR (cardinality(coalesce(m.open_kinds, '{}')) > 0 AND (
               $1::text = ANY (s.technologies)
               OR ($1::text = 'lte' AND m.open_kinds && ARRAY['lte_new_site', 'lte_upgrade'])
               OR ($1::text = '5g' AND '5g_upgrade' = ANY (m.open_kinds)))))
      AND EXISTS (SELECT 1 FROM municipality mu
                  WHERE mu.ags LIKE $2::text || '%'
                    AND ST_DWithin(mu.geom, s.geom, (SELECT max(radius_m) FROM coverage_radius WHERE technology = $1::text)))
)
SELECT s.site_id, s.geom, r.radius_m
FROM s CROSS JOIN p
CROSS JOIN LATERAL (SELECT sum(h.hh) AS hh FROM plan_hh h WHERE ST_DWithin(h.pt, s.geom, p.dr)) d
JOIN coverage_radius r ON r.technology = $1::text
 AND r.setting = CASE WHEN coalesce(d.hh, 0) / (pi() * p.dr * p.dr / 1e6) > p.thr THEN 'urban' ELSE 'rural' END
