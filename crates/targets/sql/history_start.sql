-- The history starts with the month of the first completed measure; NULL
-- when none is completed yet.
SELECT date_trunc('month', min(completed_date))::date AS start FROM measure WHERE status = 'completed'
