-- The reported coverage in force at the date $1: the versions with
-- valid_from <= $1 < valid_to (none before the first release); when no
-- release exists at all, reported_coverage as it is (undated reported
-- coverage counts at every date, as in the engine).
INSERT INTO ref_reported (n, e, lte_count, lte_operators, nr_count, nr_operators)
SELECT n, e, lte_count, lte_operators, nr_count, nr_operators FROM reported_coverage
WHERE NOT EXISTS (SELECT 1 FROM coverage_release)
UNION ALL
SELECT n, e, lte_count, lte_operators, nr_count, nr_operators FROM reported_coverage_version
WHERE EXISTS (SELECT 1 FROM coverage_release)
  AND valid_from <= $1::date AND (valid_to IS NULL OR valid_to > $1::date)
