-- The history starts with the month of the first completed measure or of
-- the first coverage release (issue 16: a deadline before any completed
-- measure is still answered by the release in force then), whichever is
-- earlier; NULL when there is neither. (least() skips NULLs.)
SELECT date_trunc('month', least(
    (SELECT min(completed_date) FROM measure WHERE status = 'completed'),
    (SELECT min(as_of) FROM coverage_release)
))::date AS start
