-- Plans of the dead-spot planner (issue 23): each POST /api/v1/plans is
-- kept with an id, so a plan can be shown, shared and checked later
-- (GET /api/v1/plans/{id}). The request and the engine's answer are stored
-- as given and answered (JSON: the ranked sites, the cumulative curve and
-- GeoJSON); `scenario_sites` lists the planned sites and measures a plan
-- put into the scenario ("as scenario"), each also in the audit log.
CREATE TABLE plan (
    plan_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at     timestamptz NOT NULL DEFAULT now(),
    created_by     text NOT NULL,
    scope          text NOT NULL CHECK (scope ~ '^[0-9]{2}([0-9]|[0-9]{3}|[0-9]{6})?$'),
    request        jsonb NOT NULL,
    result         jsonb NOT NULL,
    scenario_sites text[] NOT NULL DEFAULT '{}',
    scenario_measures text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX plan_created_at_idx ON plan (created_at);
