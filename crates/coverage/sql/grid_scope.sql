-- The scope AGS $1..$2 (issue 24): whether it is every municipality of the
-- database (then the grid streams read whole tables), else the box of its
-- municipalities' outlines in hectometre cells, widened by $3 cells. The
-- streams read only that box: the scope's cells (a grid cell's centre lies
-- in its municipality, so in the box) and, around them, the other states'
-- cells as context (load.rs, CONTEXT_MARGIN_CELLS).
SELECT NOT EXISTS (SELECT 1 FROM municipality WHERE ags NOT BETWEEN $1::text AND $2::text) AS whole,
       floor(ST_YMin(b) / 100)::int - $3::int AS n0, floor(ST_YMax(b) / 100)::int + $3::int AS n1,
       floor(ST_XMin(b) / 100)::int - $3::int AS e0, floor(ST_XMax(b) / 100)::int + $3::int AS e1
FROM (SELECT ST_Extent(geom)::geometry AS b FROM municipality WHERE ags BETWEEN $1::text AND $2::text) x
