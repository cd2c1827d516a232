INSERT INTO coverage_result (scenario, ags, technology, households, households_covered, cells, cells_covered,
                             dead_cells, grey_cells, source, run_id, computed_at)
SELECT $1, u.ags, u.tech, u.hh, u.hhc, u.cells, u.cov, u.dead, u.grey, $2, $3, $4
FROM unnest($5::text[], $6::text[], $7::float8[], $8::float8[], $9::int[], $10::int[], $11::int[], $12::int[])
     AS u(ags, tech, hh, hhc, cells, cov, dead, grey)
