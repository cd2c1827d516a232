-- What a new release dated D changes against the release in force at D
-- (computed in memory, only the differences): cells new or with other
-- values (release_stage), cells it no longer has (release_gone). Emptied
-- when one command stages several releases. No keys: the cells are
-- unique by construction, and the joins go through the versions' key.
-- The columns of reported_coverage itself (LIKE: names, types, NOT NULL).
CREATE TEMP TABLE IF NOT EXISTS release_stage (LIKE reported_coverage) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS release_gone (
    n integer NOT NULL,
    e integer NOT NULL
) ON COMMIT DROP;
TRUNCATE release_stage, release_gone;
