-- The dates of the coverage releases (issue 16), ascending.
SELECT as_of FROM coverage_release ORDER BY as_of
