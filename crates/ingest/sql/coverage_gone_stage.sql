-- Cells that leave reported_coverage: in the latest release before, not in
-- the one now latest.
CREATE TEMP TABLE IF NOT EXISTS ingest_coverage_gone (
    n integer NOT NULL,
    e integer NOT NULL
) ON COMMIT DROP;
TRUNCATE ingest_coverage_gone;
