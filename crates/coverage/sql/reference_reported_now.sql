-- The reported coverage the PostGIS reference counts for now: the latest
-- release, as reported_coverage holds it (a view, so the preparation plans
-- exactly as it did before releases).
CREATE TEMP VIEW ref_reported AS
SELECT n, e, lte_count, lte_operators, nr_count, nr_operators FROM reported_coverage
