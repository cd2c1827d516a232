-- The cells of the release in force at $1 (a release date): each cell's
-- version with valid_from <= $1 < valid_to (open end: still in force), in
-- key order, columns as reported_coverage's.
SELECT n, e, gsm_count, lte_count, nr_dss_count, nr_nsa_sa_count, nr_count, lte_operators, nr_operators
FROM reported_coverage_version
WHERE valid_from <= $1 AND (valid_to IS NULL OR valid_to > $1)
ORDER BY n, e
