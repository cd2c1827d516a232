INSERT INTO coverage_run (source, scenario, incremental, municipalities, cells, load_ms, compute_ms, started_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING run_id, computed_at
