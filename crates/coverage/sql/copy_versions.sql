-- The cell versions that tell older releases apart from the latest one
-- (issue 16): every closed version and every version that starts after the
-- first release. The open-ended versions of the first release (the bulk:
-- cells unchanged since) are left out, as the latest layer is read from
-- reported_coverage. Binary COPY, as the other grid streams.
COPY (
    SELECT n, e, valid_from, valid_to, lte_count, nr_count, lte_operators, nr_operators
    FROM reported_coverage_version
    WHERE valid_to IS NOT NULL OR valid_from > (SELECT min(as_of) FROM coverage_release)
) TO STDOUT (FORMAT binary)
