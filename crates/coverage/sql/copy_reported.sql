-- The reported grid's operator counts and sets; a plain table COPY.
COPY reported_coverage (n, e, lte_count, nr_count, lte_operators, nr_operators) TO STDOUT (FORMAT binary)
