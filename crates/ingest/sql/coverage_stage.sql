-- Cells to write (new or changed); emptied when one command writes
-- reported_coverage once per release it applies.
CREATE TEMP TABLE IF NOT EXISTS ingest_coverage_stage (
    n               integer NOT NULL,
    e               integer NOT NULL,
    gsm_count       smallint,
    lte_count       smallint NOT NULL,
    nr_dss_count    smallint,
    nr_nsa_sa_count smallint,
    nr_count        smallint NOT NULL,
    lte_operators   integer,
    nr_operators    integer
) ON COMMIT DROP;
TRUNCATE ingest_coverage_stage;
