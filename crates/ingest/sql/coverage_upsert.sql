-- Upsert by cell, only the cells that are new or changed: unchanged cells
-- are neither written nor locked (a re-ingest of the same file writes
-- nothing). Cells need not lie in grid_cell (a neighbouring state's file is
-- kept as published).
WITH up AS (
    INSERT INTO reported_coverage AS c (n, e, gsm_count, lte_count, nr_dss_count, nr_nsa_sa_count, nr_count, lte_operators, nr_operators)
    SELECT s.n, s.e, s.gsm_count, s.lte_count, s.nr_dss_count, s.nr_nsa_sa_count, s.nr_count, s.lte_operators, s.nr_operators
    FROM ingest_coverage_stage s
    LEFT JOIN reported_coverage o USING (n, e)
    WHERE o.n IS NULL
       OR (o.gsm_count, o.lte_count, o.nr_dss_count, o.nr_nsa_sa_count, o.nr_count, o.lte_operators, o.nr_operators)
          IS DISTINCT FROM (s.gsm_count, s.lte_count, s.nr_dss_count, s.nr_nsa_sa_count, s.nr_count, s.lte_operators, s.nr_operators)
    ON CONFLICT (n, e) DO UPDATE SET
        gsm_count = EXCLUDED.gsm_count, lte_count = EXCLUDED.lte_count, nr_dss_count = EXCLUDED.nr_dss_count,
        nr_nsa_sa_count = EXCLUDED.nr_nsa_sa_count, nr_count = EXCLUDED.nr_count,
        lte_operators = EXCLUDED.lte_operators, nr_operators = EXCLUDED.nr_operators
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS updated FROM up
