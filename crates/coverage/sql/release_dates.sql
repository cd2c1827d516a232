-- The dates of the coverage releases (issue 16), ascending, with the
-- number of cells each holds (the latest one's must be the rows of
-- reported_coverage, which holds the latest release).
SELECT as_of, cells FROM coverage_release ORDER BY as_of
