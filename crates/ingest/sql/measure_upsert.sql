-- Upsert by measure_id; an unchanged row is not touched (its version stays).
WITH up AS (
    INSERT INTO measure AS m (measure_id, site_id, kind, status, planned_date, completed_date, synthetic)
    SELECT measure_id, site_id, kind, status, planned_date, completed_date, synthetic FROM ingest_measure_stage
    ORDER BY line
    ON CONFLICT (measure_id) DO UPDATE SET
        site_id = EXCLUDED.site_id, kind = EXCLUDED.kind, status = EXCLUDED.status,
        planned_date = EXCLUDED.planned_date, completed_date = EXCLUDED.completed_date,
        synthetic = EXCLUDED.synthetic
    WHERE (m.site_id, m.kind, m.status, m.planned_date, m.completed_date, m.synthetic)
        IS DISTINCT FROM (EXCLUDED.site_id, EXCLUDED.kind, EXCLUDED.status, EXCLUDED.planned_date,
                          EXCLUDED.completed_date, EXCLUDED.synthetic)
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS updated FROM up
