-- Metres from a WGS84 point ($1 lon, $2 lat) to the nearest loaded
-- municipality (0 inside one); no row when none is loaded. KNN on the
-- municipalities' GiST index: one index probe, whatever their number.
WITH p AS (SELECT ST_Transform(ST_SetSRID(ST_MakePoint($1, $2), 4326), 25832) AS g)
SELECT ST_Distance(m.geom, p.g) AS distance
FROM municipality m, p
ORDER BY m.geom <-> p.g
LIMIT 1
