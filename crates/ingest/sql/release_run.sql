-- The ingest run that made release $1 (provenance).
UPDATE coverage_release SET ingest_run_id = $2 WHERE as_of = $1
