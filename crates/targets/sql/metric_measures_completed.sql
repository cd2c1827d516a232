-- Completed measures of kinds $1, completed after $2 (if given) and up to
-- $3 (migrations/V32__target_metrics.sql holds the arithmetic).
SELECT target_measures_completed($1::text[], $2::date, $3::date) AS value
