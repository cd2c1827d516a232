-- Before a rewrite of reported_coverage: the cells the staged file does not
-- mention, which keep their values.
CREATE TEMP TABLE ingest_coverage_keep ON COMMIT DROP AS
SELECT c.n, c.e, c.gsm_count, c.lte_count, c.nr_dss_count, c.nr_nsa_sa_count, c.nr_count, c.lte_operators, c.nr_operators
FROM reported_coverage c
WHERE NOT EXISTS (SELECT 1 FROM ingest_coverage_stage s WHERE s.n = c.n AND s.e = c.e)
