-- Completed measures of the given kinds, optionally only those completed
-- after a date (the strategy's adoption) and up to a date.
SELECT count(*)::float8
FROM measure
WHERE status = 'completed'
  AND kind = ANY ($1::text[])
  AND ($2::date IS NULL OR completed_date > $2)
  AND completed_date <= $3
