UPDATE api_token
SET revoked_at = coalesce(revoked_at, now())
WHERE id = $1 OR token_hash = $2
RETURNING id
