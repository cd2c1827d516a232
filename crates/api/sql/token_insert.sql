INSERT INTO api_token (token_hash, role, label)
VALUES ($1, $2, $3)
RETURNING id
