INSERT INTO site (site_id, operator_id, geom, status, technologies, planned_date, on_air_date)
VALUES ($1, $2, ST_Transform(ST_SetSRID(ST_MakePoint($3, $4), 4326), 25832), $5, $6, $7, $8)
RETURNING version, ags, api_site_json(site) AS json
