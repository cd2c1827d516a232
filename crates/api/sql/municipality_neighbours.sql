-- The municipalities sharing a border with $1, longest shared border first.
-- Shared edges of the boundary file meet again after reprojection only up
-- to rounding, so "shared" is measured as the length of $1's boundary
-- within 1 m of the other's; a touch at a corner (under 10 m) is no
-- neighbourhood. One row per neighbour; none for an unknown AGS (the
-- handler asks whether the AGS exists).
SELECT n.ags, n.name, round((b.len / 1000)::numeric, 2)::float8 AS border_km
FROM municipality m
JOIN municipality n ON n.ags <> m.ags AND ST_DWithin(n.geom, m.geom, 1)
CROSS JOIN LATERAL (SELECT ST_Length(ST_Intersection(ST_Boundary(m.geom), ST_Buffer(ST_Boundary(n.geom), 1))) AS len) b
WHERE m.ags = $1 AND b.len >= 10
ORDER BY b.len DESC, n.ags
