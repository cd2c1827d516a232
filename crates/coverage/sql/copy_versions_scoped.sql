-- copy_versions.sql for one state (issue 24): only the box of its cells.
COPY (
    SELECT n, e, valid_from, valid_to, lte_count, nr_count, lte_operators, nr_operators
    FROM reported_coverage_version
    WHERE (valid_to IS NOT NULL OR valid_from > (SELECT min(as_of) FROM coverage_release))
      AND n BETWEEN {n0} AND {n1} AND e BETWEEN {e0} AND {e1}
) TO STDOUT (FORMAT binary)
