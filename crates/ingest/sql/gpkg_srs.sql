-- The authority and code of a GeoPackage spatial reference system.
SELECT organization, organization_coordsys_id
FROM gpkg_spatial_ref_sys
WHERE srs_id = ?1
