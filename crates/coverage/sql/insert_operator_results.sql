INSERT INTO coverage_operator_result (scenario, ags, technology, operator_id, households_covered, cells_covered)
SELECT $1, u.ags, u.tech, u.op, u.hhc, u.cov
FROM unnest($2::text[], $3::text[], $4::text[], $5::float8[], $6::int[]) AS u(ags, tech, op, hhc, cov)
