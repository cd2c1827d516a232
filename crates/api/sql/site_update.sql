-- $3/$4: new lon/lat, or NULL to keep the point.
UPDATE site SET
    operator_id = $2,
    geom = CASE WHEN $3::float8 IS NULL THEN geom
                ELSE ST_Transform(ST_SetSRID(ST_MakePoint($3, $4), 4326), 25832) END,
    status = $5,
    technologies = $6,
    planned_date = $7,
    on_air_date = $8
WHERE site_id = $1
RETURNING version, ags, api_site_json(site) AS json
