-- Remove the cells the latest release no longer has (reported_coverage is
-- always the latest release's cells, migration V50).
DELETE FROM reported_coverage c USING ingest_coverage_gone g WHERE c.n = g.n AND c.e = g.e
