-- One release change at a time: other ingests and drops of releases wait
-- until commit; readers (the engine, the API) do not.
LOCK TABLE coverage_release, reported_coverage_version, reported_coverage IN SHARE ROW EXCLUSIVE MODE
