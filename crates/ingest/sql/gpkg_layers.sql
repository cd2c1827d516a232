-- The feature layers of a GeoPackage: table, geometry column, type, srs_id.
SELECT table_name, column_name, geometry_type_name, srs_id
FROM gpkg_geometry_columns
ORDER BY table_name
