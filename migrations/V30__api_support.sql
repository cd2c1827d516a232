-- What the HTTP API needs beyond the domain schema (issue 5).

-- 1. Change notification. The API keeps serialised responses (the whole
-- municipalities collection is ~2 MB) in memory and must drop them the moment
-- the data behind them changes, whoever changed it (API write, ingest,
-- recompute in another process). Each statement that changes one of these
-- tables sends NOTIFY funkplan_change; PostgreSQL delivers it only when the
-- transaction commits and folds duplicates within one transaction, so a bulk
-- ingest costs one notification, and a rolled-back one none.
CREATE FUNCTION api_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('funkplan_change', TG_TABLE_NAME);
    RETURN NULL;
END $$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['municipality', 'site', 'measure', 'coverage_run', 'coverage_result',
                             'coverage_operator_result', 'dead_spot', 'target', 'target_history',
                             'household_cell', 'operator']
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I
                        FOR EACH STATEMENT EXECUTE FUNCTION api_notify_change()', t || '_api_notify', t);
    END LOOP;
END $$;

-- 2. A simplified outline per municipality for map overviews (the OGC
-- collection's default; `?geometry=full` gives the original). 20 m in
-- EPSG:25832 is below a pixel at state-wide zoom and shrinks the state's
-- outlines several times over. Kept as a generated column so that every
-- ingest path keeps it current without knowing about it.
ALTER TABLE municipality
    ADD COLUMN geom_simple geometry(MultiPolygon, 25832)
        GENERATED ALWAYS AS (ST_Multi(ST_SimplifyPreserveTopology(geom, 20))) STORED;

-- 3. The API's JSON form of a site and of a measure, with the field names of
-- the input files (DESIGN §6), used for responses and the audit log alike.
CREATE FUNCTION api_site_json(s site) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'site_id', s.site_id,
        'operator', s.operator_id,
        'lon', round(ST_X(p)::numeric, 6)::float8,
        'lat', round(ST_Y(p)::numeric, 6)::float8,
        'status', s.status,
        'technologies', to_jsonb(s.technologies),
        'planned_date', s.planned_date,
        'on_air_date', s.on_air_date,
        'ags', s.ags,
        'version', s.version,
        'updated_at', s.updated_at)
    FROM (SELECT ST_Transform(s.geom, 4326) AS p) t
$$;

CREATE FUNCTION api_measure_json(m measure) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'measure_id', m.measure_id,
        'site_id', m.site_id,
        'kind', m.kind,
        'status', m.status,
        'planned_date', m.planned_date,
        'completed_date', m.completed_date,
        'version', m.version,
        'updated_at', m.updated_at)
$$;
