-- Every release, oldest first.
SELECT as_of, cells, checksum, source_file, source_sha256, ingest_run_id, ingested_at
FROM coverage_release
ORDER BY as_of
