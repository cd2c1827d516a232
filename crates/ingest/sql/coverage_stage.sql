-- Cells to write (new or changed); emptied when one command writes
-- reported_coverage once per release it applies.
-- The columns of reported_coverage itself (LIKE: names, types, NOT NULL).
CREATE TEMP TABLE IF NOT EXISTS ingest_coverage_stage (LIKE reported_coverage) ON COMMIT DROP;
TRUNCATE ingest_coverage_stage;
