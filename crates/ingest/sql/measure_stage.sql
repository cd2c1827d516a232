CREATE TEMP TABLE ingest_measure_stage (
    line            bigint NOT NULL,
    measure_id      text NOT NULL,
    site_id         text NOT NULL,
    kind            text NOT NULL,
    status          text NOT NULL,
    planned_date    date,
    completed_date  date,
    synthetic       boolean NOT NULL
) ON COMMIT DROP
