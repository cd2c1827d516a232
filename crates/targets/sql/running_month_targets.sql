-- The targets whose running month a write refreshes, with their metric
-- parameters (validated by the caller).
SELECT id, metric, metric_params FROM target ORDER BY sort_order, id
