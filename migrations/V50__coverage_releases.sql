-- Coverage releases (issue 16): the regulator publishes its coverage as
-- dated releases (quarterly since 2020-10), and a tracker keeps them as a
-- time series.
--
-- A release is one dated file (or several partial files merged into the
-- same date). Its cells are kept as *versions*: a cell's values from the
-- release where they appeared until the next release that differs, so 16
-- quarterly releases take the space of one plus what changed between them.
--
-- `reported_coverage` stays the cells of the latest release, materialised:
-- "now" (the engine's current figures, the API, the OGC cell collection,
-- the PostGIS reference) reads it as before; the history and any `as_of`
-- read the versions.

CREATE TABLE coverage_release (
    as_of         date PRIMARY KEY CHECK (as_of >= DATE '2019-01-01'),
    cells         bigint NOT NULL CHECK (cells >= 0),
    -- SHA-256 over the release's rows in key order (the ingest's checksum
    -- layout, crates/ingest/src/coverage.rs): equal checksums mean equal
    -- releases, so the same file again for the same date changes nothing.
    checksum      text NOT NULL,
    -- The file(s) the release was made from (several for merged partial
    -- files: their names joined by ", " and the last one's SHA-256).
    source_file   text NOT NULL,
    source_sha256 char(64) NOT NULL,
    ingest_run_id bigint REFERENCES ingest_run (id) ON DELETE SET NULL,
    ingested_at   timestamptz NOT NULL DEFAULT now()
);

-- One row per cell and stretch of releases with equal values: in force from
-- the release `valid_from` up to (not including) the release `valid_to`
-- (NULL: still in force in the latest release). A cell missing from a
-- release has no row in force at that release's date. The value in force at
-- a date D is the row with valid_from <= D < coalesce(valid_to, infinity).
CREATE TABLE reported_coverage_version (
    n               integer NOT NULL,
    e               integer NOT NULL,
    valid_from      date NOT NULL REFERENCES coverage_release (as_of),
    valid_to        date REFERENCES coverage_release (as_of),
    gsm_count       smallint CHECK (gsm_count >= 0),
    lte_count       smallint NOT NULL CHECK (lte_count >= 0),
    nr_dss_count    smallint CHECK (nr_dss_count >= 0),
    nr_nsa_sa_count smallint CHECK (nr_nsa_sa_count >= 0),
    nr_count        smallint NOT NULL CHECK (nr_count >= 0),
    lte_operators   integer,
    nr_operators    integer,
    PRIMARY KEY (n, e, valid_from),
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE INDEX reported_coverage_version_from ON reported_coverage_version (valid_from);
CREATE INDEX reported_coverage_version_to ON reported_coverage_version (valid_to);

-- A database that already holds reported coverage (ingested before
-- releases existed) gets it as one release, dated by the last coverage
-- ingest (not before 2019): nothing is lost, and `funkplan releases` shows
-- where it came from.
WITH last AS (
    SELECT id, file_name, sha256, finished_at
    FROM ingest_run WHERE kind = 'coverage' ORDER BY finished_at DESC, id DESC LIMIT 1
)
INSERT INTO coverage_release (as_of, cells, checksum, source_file, source_sha256, ingest_run_id, ingested_at)
SELECT greatest(coalesce((SELECT finished_at FROM last)::date, current_date), DATE '2019-01-01'),
       (SELECT count(*) FROM reported_coverage),
       coalesce((SELECT checksum FROM table_checksum WHERE table_name = 'reported_coverage'), 'unknown (before releases)'),
       coalesce((SELECT file_name FROM last), 'reported_coverage before releases'),
       coalesce((SELECT sha256 FROM last), repeat('0', 64)),
       (SELECT id FROM last),
       coalesce((SELECT finished_at FROM last), now())
WHERE EXISTS (SELECT 1 FROM reported_coverage);

INSERT INTO reported_coverage_version
    (n, e, valid_from, valid_to, gsm_count, lte_count, nr_dss_count, nr_nsa_sa_count, nr_count, lte_operators, nr_operators)
SELECT rc.n, rc.e, r.as_of, NULL, rc.gsm_count, rc.lte_count, rc.nr_dss_count, rc.nr_nsa_sa_count, rc.nr_count, rc.lte_operators, rc.nr_operators
FROM reported_coverage rc CROSS JOIN (SELECT as_of FROM coverage_release) r;
