-- The rewritten reported_coverage (emptied, indexes dropped): the kept cells
-- and the file's cells, in key order for the index build.
INSERT INTO reported_coverage (n, e, gsm_count, lte_count, nr_dss_count, nr_nsa_sa_count, nr_count, lte_operators, nr_operators)
SELECT * FROM (
    SELECT * FROM ingest_coverage_keep
    UNION ALL
    SELECT * FROM ingest_coverage_stage
) u
ORDER BY n, e
