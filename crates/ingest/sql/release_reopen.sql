-- Inserting release $1 before the next release $2: a version in force at
-- $1 that the new release changes or drops is closed at $1
-- (release_close.sql); where it was also in force at $2, a copy carries its
-- values on from $2 to its old end, so the releases from $2 on keep them.
-- Run before the close, which forgets the old end. Driven by the staged
-- cells (few, usually) through the primary key (n, e, valid_from).
INSERT INTO reported_coverage_version
    (n, e, valid_from, valid_to, gsm_count, lte_count, nr_dss_count, nr_nsa_sa_count, nr_count, lte_operators, nr_operators)
SELECT v.n, v.e, $2::date, v.valid_to, v.gsm_count, v.lte_count, v.nr_dss_count, v.nr_nsa_sa_count, v.nr_count, v.lte_operators, v.nr_operators
FROM (SELECT n, e FROM release_stage UNION ALL SELECT n, e FROM release_gone) s
JOIN reported_coverage_version v ON v.n = s.n AND v.e = s.e
WHERE v.valid_from < $1::date AND (v.valid_to IS NULL OR v.valid_to > $2::date)
