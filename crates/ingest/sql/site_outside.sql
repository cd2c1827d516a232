-- Staged sites farther than $1 metres from every loaded municipality, with
-- the distance to the nearest and the position as lon/lat; none when no municipality is loaded (then
-- there is no outline to check against, and sites simply get no AGS).
-- NOT EXISTS with ST_DWithin uses the municipalities' GiST index and stops
-- at the first one near enough; the KNN distance is computed only for the
-- rows refused.
SELECT st.line,
       (SELECT ST_Distance(m.geom, ST_SetSRID(ST_MakePoint(st.x, st.y), 25832))
        FROM municipality m ORDER BY m.geom <-> ST_SetSRID(ST_MakePoint(st.x, st.y), 25832) LIMIT 1) AS distance,
       ST_X(ST_Transform(ST_SetSRID(ST_MakePoint(st.x, st.y), 25832), 4326)) AS lon,
       ST_Y(ST_Transform(ST_SetSRID(ST_MakePoint(st.x, st.y), 25832), 4326)) AS lat
FROM ingest_site_stage st
WHERE EXISTS (SELECT 1 FROM municipality)
  AND NOT EXISTS (SELECT 1 FROM municipality m WHERE ST_DWithin(m.geom, ST_SetSRID(ST_MakePoint(st.x, st.y), 25832), $1))
ORDER BY st.line
