UPDATE coverage_run SET write_ms = $2 WHERE run_id = ANY ($1)
