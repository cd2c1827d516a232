INSERT INTO plan (created_by, scope, request, result)
VALUES ($1, $2, $3, $4)
RETURNING plan_id, created_at
