-- Planner reference, step 4: the candidates (index, easting, northing,
-- radius), as the engine's planner considers them.
INSERT INTO plan_cand
SELECT i, ST_Point(x, y, 25832), r FROM unnest($1::int[], $2::float8[], $3::float8[], $4::float8[]) AS c (i, x, y, r)
