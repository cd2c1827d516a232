SELECT (coalesce(load_ms, 0) + coalesce(compute_ms, 0) + coalesce(write_ms, 0))::float8 AS duration_ms,
       incremental,
       extract(epoch FROM computed_at)::float8 AS finished_at
FROM coverage_run
ORDER BY run_id DESC
LIMIT 1
