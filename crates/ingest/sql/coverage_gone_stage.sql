-- Cells that leave reported_coverage: in the latest release before, not in
-- the one now latest.
DROP TABLE IF EXISTS ingest_coverage_gone;
CREATE TEMP TABLE ingest_coverage_gone (
    n integer NOT NULL,
    e integer NOT NULL
) ON COMMIT DROP
