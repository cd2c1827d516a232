-- PostGIS reference, step 3: per operator, municipality and technology for
-- source $1 (reported | modelled | union), actual ($2 = false) or scenario
-- ($2 = true), summed over the cell states of reference_prepare.sql (view
-- ref_source); only where every cell's operator set is known.
SELECT s.ags::text AS ags, s.tech AS tech, o.id AS operator,
       coalesce(sum(s.hh) FILTER (WHERE (s.set >> o.bit) & 1 = 1), 0)::float8 AS households_covered,
       coalesce(sum(s.cells) FILTER (WHERE (s.set >> o.bit) & 1 = 1), 0)::int AS cells_covered
FROM ref_source s CROSS JOIN operator o
WHERE s.source = $1::text AND s.scenario = $2::bool
GROUP BY s.ags, s.tech, o.id
HAVING bool_and(s.set IS NOT NULL)
