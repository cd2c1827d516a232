-- The new release's new and changed cells: a version from $1 up to the
-- next release $2 (none: open), where the versions re-opened at $2 take over.
INSERT INTO reported_coverage_version
    (n, e, valid_from, valid_to, gsm_count, lte_count, nr_dss_count, nr_nsa_sa_count, nr_count, lte_operators, nr_operators)
SELECT s.n, s.e, $1::date, $2::date, s.gsm_count, s.lte_count, s.nr_dss_count, s.nr_nsa_sa_count, s.nr_count, s.lte_operators, s.nr_operators
FROM release_stage s
