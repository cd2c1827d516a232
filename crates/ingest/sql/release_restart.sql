-- Re-stating release $1 (it exists already; next release $2, none: NULL)
-- for the cells it changes or no longer has: their versions that start at
-- $1 give way. One still in force at $2 keeps its values from $2 on (it
-- now starts there); one that ends at $2 goes (release_unstart.sql, run
-- first). The staged cells' new values then start at $1 (release_open.sql).
-- For a release new at $1 no version starts there: nothing to do.
UPDATE reported_coverage_version v SET valid_from = $2::date
FROM (SELECT n, e FROM release_stage UNION ALL SELECT n, e FROM release_gone) s
WHERE v.n = s.n AND v.e = s.e AND v.valid_from = $1::date
  AND $2::date IS NOT NULL AND (v.valid_to IS NULL OR v.valid_to > $2::date)
