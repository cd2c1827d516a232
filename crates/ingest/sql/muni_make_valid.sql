-- --make-valid: repair with ST_MakeValid, keeping the polygonal part.
UPDATE ingest_muni_stage
SET geom = ST_Multi(ST_CollectionExtract(ST_MakeValid(geom), 3))
WHERE NOT ST_IsValid(geom)
RETURNING idx, ags, ST_IsEmpty(geom) AS empty
