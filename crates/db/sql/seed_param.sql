INSERT INTO coverage_param (key, value, note)
VALUES ($1, $2, $3)
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, note = EXCLUDED.note
