SELECT id, role, label, created_at, revoked_at
FROM api_token
ORDER BY id
