-- Release $1 as stored now: a new row, or the row of a release re-stated
-- (replaced whole or merged into), whose provenance then starts afresh.
INSERT INTO coverage_release (as_of, cells, checksum, source_file, source_sha256)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (as_of) DO UPDATE
SET cells = EXCLUDED.cells, checksum = EXCLUDED.checksum, source_file = EXCLUDED.source_file,
    source_sha256 = EXCLUDED.source_sha256, ingest_run_id = NULL, ingested_at = now()
