-- Re-stating release $1 (next release $2, none: NULL): the changed or
-- removed cells' versions that start at $1 and are not in force at $2 go
-- (see release_restart.sql, run after this).
DELETE FROM reported_coverage_version v
USING (SELECT n, e FROM release_stage UNION ALL SELECT n, e FROM release_gone) s
WHERE v.n = s.n AND v.e = s.e AND v.valid_from = $1::date
  AND ($2::date IS NULL OR (v.valid_to IS NOT NULL AND v.valid_to <= $2::date))
