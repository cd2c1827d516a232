UPDATE measure SET
    site_id = $2,
    kind = $3,
    status = $4,
    planned_date = $5,
    completed_date = $6
WHERE measure_id = $1
RETURNING version, api_measure_json(measure) AS json
