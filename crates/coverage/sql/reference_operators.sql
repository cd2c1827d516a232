-- PostGIS reference, step 3: per operator, municipality and technology for source $1
-- (reported | modelled | union), actual ($2 = false) or scenario ($2 = true).
-- Count and operator set per cell as the engine combines them:
--   reported: the published count; set = the mask, the empty set where the
--             count is 0, else unknown;
--   modelled: the modelled mask;
--   union:    the larger count; set = reported set | modelled where known.
-- `known` = every cell's operator set is known (per-operator figures exist).
WITH c AS (
    SELECT c.ags, c.tech, c.hh, c.rc, y.rset, y.m
    FROM ref_cell c
    CROSS JOIN LATERAL (
        SELECT CASE WHEN c.rmask IS NOT NULL THEN c.rmask WHEN c.rc = 0 THEN 0 END AS rset,
               CASE WHEN $2::bool THEN c.m_scen ELSE c.m_act END AS m
    ) y
), x AS (
    SELECT ags, tech, hh,
           CASE $1::text
               WHEN 'modelled' THEN bit_count(m::bit(32))::int
               WHEN 'reported' THEN greatest(rc, coalesce(bit_count(rset::bit(32))::int, 0))
               ELSE greatest(rc, bit_count(m::bit(32))::int, coalesce(bit_count((rset | m)::bit(32))::int, 0))
           END AS cnt,
           CASE $1::text WHEN 'modelled' THEN m WHEN 'reported' THEN rset ELSE rset | m END AS set
    FROM c
)
SELECT x.ags::text, x.tech, o.id,
       coalesce(sum(x.hh) FILTER (WHERE (x.set >> o.bit) & 1 = 1), 0)::float8 AS households_covered,
       (count(*) FILTER (WHERE (x.set >> o.bit) & 1 = 1))::int AS cells_covered
FROM x CROSS JOIN operator o
GROUP BY x.ags, x.tech, o.id
HAVING bool_and(x.set IS NOT NULL)
