-- What a staged coverage file would change: cells new to reported_coverage,
-- cells whose values differ, and the rows reported_coverage has now.
SELECT count(*) FILTER (WHERE c.n IS NULL),
       count(*) FILTER (WHERE c.n IS NOT NULL
           AND (c.gsm_count, c.lte_count, c.nr_dss_count, c.nr_nsa_sa_count, c.nr_count, c.lte_operators, c.nr_operators)
               IS DISTINCT FROM (s.gsm_count, s.lte_count, s.nr_dss_count, s.nr_nsa_sa_count, s.nr_count, s.lte_operators, s.nr_operators)),
       (SELECT count(*) FROM reported_coverage)
FROM ingest_coverage_stage s
LEFT JOIN reported_coverage c USING (n, e)
