SELECT m.version, api_measure_json(m)::text
FROM measure m
WHERE m.measure_id = $1
