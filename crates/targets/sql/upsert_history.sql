INSERT INTO target_history (target_id, month, value)
SELECT $1, u.month, u.value FROM unnest($2::date[], $3::float8[]) AS u(month, value)
ON CONFLICT (target_id, month) DO UPDATE SET value = EXCLUDED.value
