-- Funkplan NRW schema, version 1: the domain of DESIGN.md §2.
--
-- Conventions: every geometry column names its SRID; EPSG:25832 (ETRS89 /
-- UTM 32N, metres) is the working CRS, output is reprojected to WGS84 at the
-- edge. Closed word sets are text with CHECK constraints (not PG enums) so
-- that clients bind plain strings and new words are one ALTER away.
-- Grid cells are (n, e) = (northing/100, easting/100) of the south-west
-- corner, as in the regulator's ids `100mN{n}E{e}`.

CREATE EXTENSION IF NOT EXISTS postgis;

-- Operators: an open set. `bit` is the operator's position in the coverage
-- bit masks (reported_coverage.*_operators, the engine's per-cell sets).
CREATE TABLE operator (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9_]{1,32}$'),
    name        text NOT NULL,
    bit         smallint NOT NULL UNIQUE CHECK (bit BETWEEN 0 AND 30),
    source      text
);

CREATE TABLE municipality (
    ags             char(8) PRIMARY KEY CHECK (ags ~ '^[0-9]{8}$'),
    name            text NOT NULL,
    district        char(5) GENERATED ALWAYS AS (substr(ags, 1, 5)) STORED,
    kind            text,                       -- VG250 BEZ, e.g. 'Stadt', 'Gemeinde'
    population      integer CHECK (population >= 0),
    households      double precision CHECK (households >= 0), -- as given in the file, if any
    geom            geometry(MultiPolygon, 25832) NOT NULL,
    area_km2        double precision GENERATED ALWAYS AS (ST_Area(geom) / 1e6) STORED,
    synthetic       boolean NOT NULL DEFAULT false,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX municipality_geom_gix ON municipality USING gist (geom);
CREATE INDEX municipality_name_idx ON municipality (lower(name));

-- The 100 m grid over the state: every cell whose centre lies in a
-- municipality, with that municipality. Built from the municipality
-- geometries; ~3.4 M rows at NRW scale, so no geometry column: the centre is
-- (e*100+50, n*100+50) in EPSG:25832 and the reference SQL builds it on the fly.
CREATE TABLE grid_cell (
    n       integer NOT NULL,
    e       integer NOT NULL,
    ags     char(8) NOT NULL,
    PRIMARY KEY (n, e)
);
CREATE INDEX grid_cell_ags_idx ON grid_cell (ags);

-- Households per 100 m cell, mapped from the census grid (EPSG:3035) onto
-- the EPSG:25832 grid (DESIGN §2). Fractional where a 1 km census cell was
-- spread over its 100 sub-cells. Replaced as a whole by each household ingest.
CREATE TABLE household_cell (
    n           integer NOT NULL,
    e           integer NOT NULL,
    households  real NOT NULL CHECK (households >= 0),
    population  real CHECK (population >= 0),
    PRIMARY KEY (n, e)
);

-- Reported coverage per cell: operator counts per technology as published
-- by the regulator, and where an operator's file gives them, the operator
-- sets as bit masks over operator.bit (NULL = not known, count only).
CREATE TABLE reported_coverage (
    n               integer NOT NULL,
    e               integer NOT NULL,
    gsm_count       smallint CHECK (gsm_count >= 0),
    lte_count       smallint NOT NULL CHECK (lte_count >= 0),
    nr_dss_count    smallint CHECK (nr_dss_count >= 0),
    nr_nsa_sa_count smallint CHECK (nr_nsa_sa_count >= 0),
    nr_count        smallint NOT NULL CHECK (nr_count >= 0),   -- nr_gesamt
    lte_operators   integer,
    nr_operators    integer,
    PRIMARY KEY (n, e)
);

CREATE TABLE site (
    site_id         text PRIMARY KEY CHECK (site_id ~ '^[A-Za-z0-9._:-]{1,64}$'),
    operator_id     text NOT NULL REFERENCES operator (id),
    geom            geometry(Point, 25832) NOT NULL,
    status          text NOT NULL CHECK (status IN ('planned', 'permitting', 'construction', 'on_air', 'decommissioned')),
    technologies    text[] NOT NULL DEFAULT '{}' CHECK (technologies <@ ARRAY['lte', '5g']::text[]),
    planned_date    date,
    on_air_date     date,
    ags             char(8),                    -- municipality containing the site, derived on write
    synthetic       boolean NOT NULL DEFAULT false,
    version         bigint NOT NULL DEFAULT 1,  -- bumped on every change; the ETag
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX site_geom_gix ON site USING gist (geom);
CREATE INDEX site_ags_idx ON site (ags);
CREATE INDEX site_status_idx ON site (status);

CREATE TABLE measure (
    measure_id      text PRIMARY KEY CHECK (measure_id ~ '^[A-Za-z0-9._:-]{1,64}$'),
    site_id         text NOT NULL REFERENCES site (site_id),
    kind            text NOT NULL CHECK (kind IN ('5g_upgrade', 'lte_new_site', 'lte_upgrade')),
    status          text NOT NULL CHECK (status IN ('planned', 'in_progress', 'completed')),
    planned_date    date,
    completed_date  date,
    synthetic       boolean NOT NULL DEFAULT false,
    version         bigint NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'completed') = (completed_date IS NOT NULL))
);
CREATE INDEX measure_site_idx ON measure (site_id);
CREATE INDEX measure_completed_idx ON measure (kind, completed_date) WHERE status = 'completed';

-- The modelled-coverage radii (seeded from seeds/coverage_model.json).
CREATE TABLE coverage_radius (
    technology  text NOT NULL CHECK (technology IN ('lte', '5g')),
    setting     text NOT NULL CHECK (setting IN ('urban', 'rural')),
    radius_m    double precision NOT NULL CHECK (radius_m > 0 AND radius_m <= 50000),
    note        text,
    PRIMARY KEY (technology, setting)
);
-- Scalar parameters of the coverage model (e.g. the urban density threshold).
CREATE TABLE coverage_param (
    key     text PRIMARY KEY,
    value   double precision NOT NULL,
    note    text
);

-- One row per computation run (full or incremental): provenance and timing.
CREATE TABLE coverage_run (
    run_id      bigserial PRIMARY KEY,
    source      text NOT NULL CHECK (source IN ('reported', 'modelled', 'union')),
    scenario    boolean NOT NULL,
    incremental boolean NOT NULL DEFAULT false,
    municipalities integer NOT NULL DEFAULT 0,
    cells       bigint NOT NULL DEFAULT 0,
    load_ms     double precision,
    compute_ms  double precision,
    write_ms    double precision,
    started_at  timestamptz NOT NULL DEFAULT now(),
    computed_at timestamptz NOT NULL DEFAULT now()
);

-- Current figures per municipality and technology; `scenario` = as if every
-- planned measure were completed. A run replaces its rows in one
-- transaction, so readers see either the old or the new figures.
-- State totals are sums over these rows.
CREATE TABLE coverage_result (
    scenario            boolean NOT NULL,
    ags                 char(8) NOT NULL REFERENCES municipality (ags) ON DELETE CASCADE,
    technology          text NOT NULL CHECK (technology IN ('lte', '5g')),
    households          double precision NOT NULL,
    households_covered  double precision NOT NULL,
    cells               integer NOT NULL,
    cells_covered       integer NOT NULL,
    dead_cells          integer NOT NULL,   -- no operator
    grey_cells          integer NOT NULL,   -- exactly one operator
    source              text NOT NULL CHECK (source IN ('reported', 'modelled', 'union')),
    run_id              bigint NOT NULL REFERENCES coverage_run (run_id),
    computed_at         timestamptz NOT NULL,
    PRIMARY KEY (scenario, ags, technology),
    CHECK (households_covered <= households * (1 + 1e-9) + 1e-9),
    CHECK (cells_covered <= cells)
);

-- Per-operator figures, only where operators are known (absent, not zero,
-- where the source gives counts only).
CREATE TABLE coverage_operator_result (
    scenario            boolean NOT NULL,
    ags                 char(8) NOT NULL,
    technology          text NOT NULL,
    operator_id         text NOT NULL REFERENCES operator (id),
    households_covered  double precision NOT NULL,
    cells_covered       integer NOT NULL,
    PRIMARY KEY (scenario, ags, technology, operator_id),
    FOREIGN KEY (scenario, ags, technology) REFERENCES coverage_result (scenario, ags, technology) ON DELETE CASCADE
);

-- LTE dead spots (actual, not scenario): connected groups of dead cells,
-- merged into one polygon each.
CREATE TABLE dead_spot (
    id          text PRIMARY KEY,           -- '<AGS>-<n>'
    ags         char(8) NOT NULL REFERENCES municipality (ags) ON DELETE CASCADE,
    cells       integer NOT NULL CHECK (cells > 0),
    area_km2    double precision NOT NULL,
    geom        geometry(MultiPolygon, 25832) NOT NULL,
    computed_at timestamptz NOT NULL
);
CREATE INDEX dead_spot_ags_idx ON dead_spot (ags);
CREATE INDEX dead_spot_geom_gix ON dead_spot USING gist (geom);

CREATE TABLE target (
    id              text PRIMARY KEY CHECK (id ~ '^[a-z0-9-]+$'),
    title           text NOT NULL,
    unit            text NOT NULL CHECK (unit IN ('count', 'percent', 'km2')),
    comparator      text NOT NULL CHECK (comparator IN ('gt', 'ge', 'lt', 'le')),
    target_value    double precision NOT NULL,
    deadline        date NOT NULL,
    metric          text NOT NULL,
    metric_params   jsonb NOT NULL DEFAULT '{}',
    source_document text NOT NULL,
    source_date     date,
    source_quote    text,
    note            text,
    sort_order      integer NOT NULL DEFAULT 0
);

-- Monthly values of each target's metric; rebuilt by `recompute`.
CREATE TABLE target_history (
    target_id   text NOT NULL REFERENCES target (id) ON DELETE CASCADE,
    month       date NOT NULL,              -- first day of the month
    value       double precision NOT NULL,
    PRIMARY KEY (target_id, month)
);

CREATE TABLE ingest_run (
    id          bigserial PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('municipalities', 'households', 'sites', 'measures', 'coverage')),
    file_name   text NOT NULL,
    sha256      char(64) NOT NULL,
    rows        bigint NOT NULL,
    inserted    bigint NOT NULL DEFAULT 0,
    updated     bigint NOT NULL DEFAULT 0,
    unchanged   bigint NOT NULL DEFAULT 0,
    duration_ms double precision NOT NULL,
    detail      jsonb NOT NULL DEFAULT '{}',
    finished_at timestamptz NOT NULL DEFAULT now()
);

-- API tokens: only the SHA-256 of the secret is kept. Tokens are 256-bit
-- random strings, so a fast hash is enough (no password stretching needed).
CREATE TABLE api_token (
    id          bigserial PRIMARY KEY,
    token_hash  bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    role        text NOT NULL CHECK (role IN ('admin', 'staff') OR role ~ '^municipality:[0-9]{8}$'),
    label       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,              -- 'token:<id> (<role>)' or 'cli:ingest'
    action      text NOT NULL,              -- 'create', 'update'
    entity      text NOT NULL,              -- 'site', 'measure'
    entity_id   text NOT NULL,
    before      jsonb,
    after       jsonb
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id);

-- Invariants kept in one place, so bulk ingest and single API writes agree.

-- A site belongs to the municipality containing it (NULL outside all).
CREATE FUNCTION site_assign_ags() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.ags := (SELECT m.ags FROM municipality m WHERE ST_Intersects(m.geom, NEW.geom) ORDER BY m.ags LIMIT 1);
    RETURN NEW;
END $$;
CREATE TRIGGER site_assign_ags BEFORE INSERT OR UPDATE OF geom ON site
    FOR EACH ROW EXECUTE FUNCTION site_assign_ags();

-- Every real change bumps `version` (the ETag) and `updated_at`; an update
-- that changes nothing keeps both, so re-ingesting a file is a no-op.
CREATE FUNCTION bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (to_jsonb(NEW) - 'version' - 'updated_at') IS DISTINCT FROM (to_jsonb(OLD) - 'version' - 'updated_at') THEN
        NEW.version := OLD.version + 1;
        NEW.updated_at := now();
    ELSE
        NEW.version := OLD.version;
        NEW.updated_at := OLD.updated_at;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER site_bump_version BEFORE UPDATE ON site FOR EACH ROW EXECUTE FUNCTION bump_version();
CREATE TRIGGER measure_bump_version BEFORE UPDATE ON measure FOR EACH ROW EXECUTE FUNCTION bump_version();

-- DESIGN §2: completing a 5g_upgrade puts 5G on air at its site, an lte_*
-- measure puts LTE on air. A site not yet on air goes on air with it.
CREATE FUNCTION measure_completed_puts_on_air() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tech text := CASE WHEN NEW.kind = '5g_upgrade' THEN '5g' ELSE 'lte' END;
BEGIN
    IF NEW.status = 'completed' AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'completed') THEN
        UPDATE site s SET
            technologies = CASE WHEN tech = ANY (s.technologies) THEN s.technologies
                                ELSE (SELECT array_agg(t ORDER BY t) FROM unnest(s.technologies || tech) t) END,
            status = CASE WHEN s.status IN ('planned', 'permitting', 'construction') THEN 'on_air' ELSE s.status END,
            on_air_date = CASE WHEN s.status IN ('planned', 'permitting', 'construction')
                               THEN coalesce(s.on_air_date, NEW.completed_date) ELSE s.on_air_date END
        WHERE s.site_id = NEW.site_id
          AND s.status <> 'decommissioned'
          AND (NOT (tech = ANY (s.technologies)) OR s.status IN ('planned', 'permitting', 'construction'));
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER measure_completed_puts_on_air AFTER INSERT OR UPDATE OF status ON measure
    FOR EACH ROW EXECUTE FUNCTION measure_completed_puts_on_air();
