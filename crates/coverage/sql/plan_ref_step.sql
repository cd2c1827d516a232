-- Planner reference, one greedy step: the candidate with the largest gain
-- over the cells still open ($1: 'households' or 'area'), the earliest on
-- equal gains.
SELECT idx, sum(hh) AS households, count(*) AS cells
FROM plan_pair
GROUP BY idx
ORDER BY CASE WHEN $1::text = 'area' THEN count(*)::float8 ELSE sum(hh) END DESC, idx
LIMIT 1
