CREATE TEMP TABLE ingest_muni_stage (
    idx         integer NOT NULL,
    ags         char(8) NOT NULL,
    name        text NOT NULL,
    kind        text,
    population  integer,
    households  double precision,
    synthetic   boolean NOT NULL,
    geom        geometry(MultiPolygon, 25832) NOT NULL
) ON COMMIT DROP
