INSERT INTO ingest_muni_stage (idx, ags, name, kind, population, households, synthetic, geom)
VALUES ($1, $2, $3, $4, $5, $6, $7, ST_SetSRID(ST_GeomFromGeoJSON($8), 25832))
