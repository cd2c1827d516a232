-- copy_reported.sql for one state (issue 24): only the box of its cells.
COPY (
    SELECT n, e, lte_count, nr_count, lte_operators, nr_operators FROM reported_coverage
    WHERE n BETWEEN {n0} AND {n1} AND e BETWEEN {e0} AND {e1}
) TO STDOUT (FORMAT binary)
