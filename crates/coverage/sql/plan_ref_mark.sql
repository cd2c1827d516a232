-- Planner reference, after a step: the chosen candidate's cells are
-- covered; no pair counts them any more.
DELETE FROM plan_pair WHERE cell IN (SELECT cell FROM plan_pair WHERE idx = $1::int)
