-- Every municipality's geometry, for rebuilding grid_cell (EPSG:25832 metres).
SELECT ags::text AS ags, ST_AsGeoJSON(geom, 6) AS geojson FROM municipality ORDER BY ags
