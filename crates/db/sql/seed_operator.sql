INSERT INTO operator (id, name, bit, source)
VALUES ($1, $2, $3, $4)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, bit = EXCLUDED.bit, source = EXCLUDED.source
WHERE (operator.name, operator.bit, operator.source) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.bit, EXCLUDED.source)
