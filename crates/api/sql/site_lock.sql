-- The site as it is now, locked until the write's transaction ends, so that
-- two writers with the same ETag cannot both pass the If-Match check.
SELECT s.version, s.status, s.operator_id, s.technologies, s.planned_date, s.on_air_date, s.ags,
       api_site_json(s) AS json
FROM site s
WHERE s.site_id = $1
FOR UPDATE
