INSERT INTO measure (measure_id, site_id, kind, status, planned_date, completed_date)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING version, api_measure_json(measure) AS json
