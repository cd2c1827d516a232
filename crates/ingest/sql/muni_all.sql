-- Every municipality's geometry, for rebuilding grid_cell (EPSG:25832 metres).
SELECT ags::text, ST_AsGeoJSON(geom, 6) FROM municipality ORDER BY ags
