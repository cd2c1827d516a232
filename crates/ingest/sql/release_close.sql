-- Close at $1 the versions in force at $1 that the new release dated $1
-- changes or no longer has (the ones it keeps equal span it untouched).
UPDATE reported_coverage_version v SET valid_to = $1::date
WHERE v.valid_from < $1::date AND (v.valid_to IS NULL OR v.valid_to > $1::date)
  AND (EXISTS (SELECT 1 FROM release_stage s WHERE s.n = v.n AND s.e = v.e)
       OR EXISTS (SELECT 1 FROM release_gone g WHERE g.n = v.n AND g.e = v.e))
