-- State-wide coverage of one technology, summed over municipalities (actual,
-- not scenario): household share and area share in percent, dead-spot area in
-- km² (a cell is 0.01 km²), and when it was computed.
SELECT coalesce(100 * sum(households_covered) / nullif(sum(households), 0), 0)::float8,
       coalesce(100 * sum(cells_covered)::float8 / nullif(sum(cells), 0), 0)::float8,
       coalesce(sum(dead_cells) * 0.01, 0)::float8,
       max(computed_at)
FROM coverage_result
WHERE NOT scenario AND technology = $1
