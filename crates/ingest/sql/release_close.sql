-- Close at $1 the versions in force at $1 that the new release dated $1
-- changes or no longer has (the ones it keeps equal span it untouched).
-- Driven by the staged cells through the primary key (n, e, valid_from).
UPDATE reported_coverage_version v SET valid_to = $1::date
FROM (SELECT n, e FROM release_stage UNION ALL SELECT n, e FROM release_gone) s
WHERE v.n = s.n AND v.e = s.e
  AND v.valid_from < $1::date AND (v.valid_to IS NULL OR v.valid_to > $1::date)
