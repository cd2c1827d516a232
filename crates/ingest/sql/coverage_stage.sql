-- Cells to write (new or changed); dropped first, as one command may write
-- reported_coverage once per release it applies.
DROP TABLE IF EXISTS ingest_coverage_stage;
CREATE TEMP TABLE ingest_coverage_stage (
    n               integer NOT NULL,
    e               integer NOT NULL,
    gsm_count       smallint,
    lte_count       smallint NOT NULL,
    nr_dss_count    smallint,
    nr_nsa_sa_count smallint,
    nr_count        smallint NOT NULL,
    lte_operators   integer,
    nr_operators    integer
) ON COMMIT DROP
