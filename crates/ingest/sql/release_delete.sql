-- The release row itself, once no version refers to it (migration V70: the
-- ingest keeps the versions' dates release dates, without foreign keys).
DELETE FROM coverage_release r
WHERE r.as_of = $1
  AND NOT EXISTS (SELECT 1 FROM reported_coverage_version v WHERE v.valid_from = $1)
  AND NOT EXISTS (SELECT 1 FROM reported_coverage_version v WHERE v.valid_to = $1)
