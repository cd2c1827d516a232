-- The staged cells reported_coverage does not hold yet (after
-- coverage_update.sql has written the changed ones). Cells need not lie in
-- grid_cell (a neighbouring state's file is kept as published).
INSERT INTO reported_coverage (n, e, gsm_count, lte_count, nr_dss_count, nr_nsa_sa_count, nr_count, lte_operators, nr_operators)
SELECT s.n, s.e, s.gsm_count, s.lte_count, s.nr_dss_count, s.nr_nsa_sa_count, s.nr_count, s.lte_operators, s.nr_operators
FROM ingest_coverage_stage s
WHERE NOT EXISTS (SELECT 1 FROM reported_coverage c WHERE c.n = s.n AND c.e = s.e)
