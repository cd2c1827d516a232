-- Dropping release $1 (next release $2, none: NULL): the versions that
-- ended at $1 were in force at the release before it, which is now in
-- force until $2, so they run on to $2 (or stay open).
UPDATE reported_coverage_version SET valid_to = $2::date WHERE valid_to = $1::date
