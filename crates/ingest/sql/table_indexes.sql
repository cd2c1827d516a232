-- The indexes of a table (with the constraint owning each, if any, and its
-- definition), and whether any foreign key points at the table (then
-- indexes must stay).
SELECT i.relname::text AS name, pg_get_indexdef(i.oid) AS def, c.conname::text AS constraint_name,
       EXISTS (SELECT 1 FROM pg_constraint f WHERE f.confrelid = t.oid AND f.contype = 'f') AS referenced,
       quote_ident(i.relname) AS quoted, pg_get_constraintdef(c.oid) AS constraint_def
FROM pg_class t
JOIN pg_index x ON x.indrelid = t.oid
JOIN pg_class i ON i.oid = x.indexrelid
LEFT JOIN pg_constraint c ON c.conindid = i.oid AND c.conrelid = t.oid
WHERE t.oid = $1::text::regclass
ORDER BY i.relname
