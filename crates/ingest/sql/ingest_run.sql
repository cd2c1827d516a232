INSERT INTO ingest_run (kind, file_name, sha256, rows, inserted, updated, unchanged, duration_ms, detail)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING id
