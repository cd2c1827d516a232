-- PostGIS reference, step 2: per municipality and technology for source $1
-- (reported | modelled | union), actual ($2 = false) or scenario ($2 = true),
-- summed over the cell states of reference_prepare.sql (view ref_source:
-- count and operator set per state). `known` = every cell's operator set is
-- known (per-operator figures exist).
SELECT ags::text AS ags, tech,
       sum(hh)::float8 AS households,
       coalesce(sum(hh) FILTER (WHERE cnt > 0), 0)::float8 AS households_covered,
       sum(cells)::int AS cells,
       coalesce(sum(cells) FILTER (WHERE cnt > 0), 0)::int AS cells_covered,
       coalesce(sum(cells) FILTER (WHERE cnt = 0), 0)::int AS dead_cells,
       coalesce(sum(cells) FILTER (WHERE cnt = 1), 0)::int AS grey_cells,
       bool_and(set IS NOT NULL) AS known
FROM ref_source
WHERE source = $1::text AND scenario = $2::bool
GROUP BY ags, tech
