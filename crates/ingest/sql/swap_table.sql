-- What a table swapped in for `table` must carry over that
-- `CREATE TABLE … (LIKE … INCLUDING ALL)` does not, quoted for SQL text:
-- the schema-qualified name (as pg_get_indexdef and pg_get_triggerdef print
-- it), the schema, the owner, the table's comment (a literal) and its
-- storage parameters.
SELECT quote_ident(n.nspname) || '.' || quote_ident(t.relname) AS qualified,
       quote_ident(n.nspname) AS schema,
       quote_ident(pg_get_userbyid(t.relowner)) AS owner,
       quote_literal(obj_description(t.oid, 'pg_class')) AS comment,
       array_to_string(t.reloptions, ', ') AS options
FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE t.oid = $1::text::regclass
