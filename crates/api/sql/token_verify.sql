-- Looked up by the SHA-256 of the presented secret (unique index), so the
-- secret itself is never compared byte by byte.
SELECT id, role
FROM api_token
WHERE token_hash = $1 AND revoked_at IS NULL
