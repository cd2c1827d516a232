-- Polygons come as WKB in EPSG:25832 metres, traced by the engine.
INSERT INTO dead_spot (id, ags, cells, area_km2, geom, computed_at)
SELECT u.id, u.ags, u.cells, u.area, ST_Multi(ST_GeomFromWKB(u.wkb, 25832)), $6
FROM unnest($1::text[], $2::text[], $3::int[], $4::float8[], $5::bytea[]) AS u(id, ags, cells, area, wkb)
