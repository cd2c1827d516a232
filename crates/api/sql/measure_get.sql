SELECT m.version, api_measure_json(m)::text AS json
FROM measure m
WHERE m.measure_id = $1
