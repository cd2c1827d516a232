COPY (SELECT n, e, lte_count, nr_count, lte_operators, nr_operators FROM reported_coverage) TO STDOUT (FORMAT binary)
