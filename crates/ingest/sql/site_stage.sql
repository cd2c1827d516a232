CREATE TEMP TABLE ingest_site_stage (
    line            bigint NOT NULL,
    site_id         text NOT NULL,
    operator_id     text NOT NULL,
    x               double precision NOT NULL,
    y               double precision NOT NULL,
    status          text NOT NULL,
    technologies    text[] NOT NULL,
    planned_date    date,
    on_air_date     date,
    synthetic       boolean NOT NULL
) ON COMMIT DROP
