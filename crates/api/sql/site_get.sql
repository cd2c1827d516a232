SELECT s.version, api_site_json(s)::text AS json
FROM site s
WHERE s.site_id = $1
