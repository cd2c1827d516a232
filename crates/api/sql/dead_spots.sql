-- The LTE dead spots of one municipality as a GeoJSON FeatureCollection
-- (WGS84, 6 decimals); NULL when the municipality does not exist.
SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM municipality WHERE ags = $1) THEN NULL ELSE
    '{"type":"FeatureCollection","features":[' || coalesce(string_agg(
        '{"type":"Feature","id":' || to_json(d.id)::text
        || ',"geometry":' || ST_AsGeoJSON(ST_Transform(d.geom, 4326), 6)
        || ',"properties":' || json_build_object('ags', d.ags, 'cells', d.cells,
               'area_km2', round(d.area_km2::numeric, 4)::float8, 'computed_at', d.computed_at)::text
        || '}', ',' ORDER BY d.id), '') || ']}'
END AS features
FROM dead_spot d
WHERE d.ags = $1
