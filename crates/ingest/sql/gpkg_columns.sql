-- The column names of one GeoPackage table.
SELECT name FROM pragma_table_info(?1)
