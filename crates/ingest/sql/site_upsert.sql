-- Upsert by site_id; an unchanged row is not touched (its version stays).
WITH up AS (
    INSERT INTO site AS s (site_id, operator_id, geom, status, technologies, planned_date, on_air_date, synthetic)
    SELECT site_id, operator_id, ST_SetSRID(ST_MakePoint(x, y), 25832), status, technologies, planned_date, on_air_date, synthetic
    FROM ingest_site_stage
    ON CONFLICT (site_id) DO UPDATE SET
        operator_id = EXCLUDED.operator_id, geom = EXCLUDED.geom, status = EXCLUDED.status,
        technologies = EXCLUDED.technologies, planned_date = EXCLUDED.planned_date,
        on_air_date = EXCLUDED.on_air_date, synthetic = EXCLUDED.synthetic
    WHERE (s.operator_id, s.geom, s.status, s.technologies, s.planned_date, s.on_air_date, s.synthetic)
        IS DISTINCT FROM (EXCLUDED.operator_id, EXCLUDED.geom, EXCLUDED.status, EXCLUDED.technologies,
                          EXCLUDED.planned_date, EXCLUDED.on_air_date, EXCLUDED.synthetic)
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS updated FROM up
