-- The month the history starts: the first completed measure; NULL when
-- there is none (the history is then the current month alone).
SELECT min(completed_date) FROM measure WHERE status = 'completed'
