-- Upsert by cell; unchanged cells are not touched. Cells need not lie in
-- grid_cell (a neighbouring state's file is kept as published).
WITH up AS (
    INSERT INTO reported_coverage AS c (n, e, gsm_count, lte_count, nr_dss_count, nr_nsa_sa_count, nr_count, lte_operators, nr_operators)
    SELECT n, e, gsm_count, lte_count, nr_dss_count, nr_nsa_sa_count, nr_count, lte_operators, nr_operators
    FROM ingest_coverage_stage
    ON CONFLICT (n, e) DO UPDATE SET
        gsm_count = EXCLUDED.gsm_count, lte_count = EXCLUDED.lte_count, nr_dss_count = EXCLUDED.nr_dss_count,
        nr_nsa_sa_count = EXCLUDED.nr_nsa_sa_count, nr_count = EXCLUDED.nr_count,
        lte_operators = EXCLUDED.lte_operators, nr_operators = EXCLUDED.nr_operators
    WHERE (c.gsm_count, c.lte_count, c.nr_dss_count, c.nr_nsa_sa_count, c.nr_count, c.lte_operators, c.nr_operators)
        IS DISTINCT FROM (EXCLUDED.gsm_count, EXCLUDED.lte_count, EXCLUDED.nr_dss_count, EXCLUDED.nr_nsa_sa_count,
                          EXCLUDED.nr_count, EXCLUDED.lte_operators, EXCLUDED.nr_operators)
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up
