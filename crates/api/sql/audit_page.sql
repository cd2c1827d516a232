-- Newest first; optional filters by entity and entity id.
SELECT (SELECT count(*) FROM audit_log
        WHERE ($1::text IS NULL OR entity = $1) AND ($2::text IS NULL OR entity_id = $2)) AS total,
       coalesce(json_agg(json_build_object('id', id, 'at', at, 'actor', actor, 'action', action,
                                           'entity', entity, 'entity_id', entity_id,
                                           'before', before, 'after', after) ORDER BY id DESC), '[]')::text AS items
FROM (
    SELECT * FROM audit_log
    WHERE ($1::text IS NULL OR entity = $1) AND ($2::text IS NULL OR entity_id = $2)
    ORDER BY id DESC
    LIMIT $3 OFFSET $4
) a
