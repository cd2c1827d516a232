SELECT (coalesce(load_ms, 0) + coalesce(compute_ms, 0) + coalesce(write_ms, 0))::float8,
       incremental,
       extract(epoch FROM computed_at)::float8
FROM coverage_run
ORDER BY run_id DESC
LIMIT 1
