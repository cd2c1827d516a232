INSERT INTO audit_log (actor, action, entity, entity_id, before, after)
VALUES ($1, $2, $3, $4, $5, $6)
