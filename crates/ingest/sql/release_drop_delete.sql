-- Dropping release $1: its versions not in force at the next release $2
-- (or all of them when $1 is the latest) go.
DELETE FROM reported_coverage_version
WHERE valid_from = $1::date AND ($2::date IS NULL OR (valid_to IS NOT NULL AND valid_to <= $2::date))
