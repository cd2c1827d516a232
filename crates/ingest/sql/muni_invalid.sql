-- Polygons PostGIS calls invalid (self-intersection, ring crossings, ...).
SELECT idx, ags, ST_IsValidReason(geom) AS reason FROM ingest_muni_stage WHERE NOT ST_IsValid(geom) ORDER BY idx
