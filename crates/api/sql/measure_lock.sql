SELECT m.version, m.site_id, m.kind, m.status, m.planned_date, m.completed_date, s.ags,
       api_measure_json(m) AS json
FROM measure m
JOIN site s ON s.site_id = m.site_id
WHERE m.measure_id = $1
FOR UPDATE OF m
