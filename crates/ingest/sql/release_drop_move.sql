-- Dropping release $1: its versions still in force at the next release $2
-- now start there (release_drop_delete.sql has removed the others).
UPDATE reported_coverage_version SET valid_from = $2::date WHERE valid_from = $1::date
