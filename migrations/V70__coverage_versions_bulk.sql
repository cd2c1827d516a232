-- Coverage releases (issue 16), measured at NRW scale (3.4 M cells): the
-- ingest is the only writer of reported_coverage_version and spends most of
-- its time on what V50 added for integrity and lookups it does not need.
--
-- - The two foreign keys to coverage_release fire one lookup per row
--   written: a first release (3.4 M versions) took 62 s to insert, a
--   quarter changing 9 % of the cells 16 s to close and open its versions.
--   Dates are release dates by construction instead (the ingest writes only
--   the date it stores and the next release's, and deletes a release only
--   when no version refers to it: crates/ingest/sql/release_delete.sql),
--   and the engine checks every version's dates against the releases when
--   it loads them.
-- - The index on valid_to made closing a version (setting valid_to when a
--   later release changes the cell, the most frequent write) a non-HOT
--   update: a new entry in every index and a dead tuple. Without it, and
--   with room left on each page (fillfactor 90), the close is a HOT update
--   pruned in place, so a release's growth follows its changes. Dropping a
--   release (rare) finds the versions ending at it by a scan instead.
ALTER TABLE reported_coverage_version
    DROP CONSTRAINT reported_coverage_version_valid_from_fkey,
    DROP CONSTRAINT reported_coverage_version_valid_to_fkey;
DROP INDEX reported_coverage_version_to;
ALTER TABLE reported_coverage_version SET (fillfactor = 90);
