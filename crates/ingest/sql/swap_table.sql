-- What a table swapped in for `table` must carry over that
-- `CREATE TABLE … (LIKE … INCLUDING ALL)` does not, quoted for SQL text:
-- the schema-qualified name (as pg_get_indexdef and pg_get_triggerdef print
-- it), the schema, the owner, the table's comment (a literal) and its
-- storage parameters.
SELECT quote_ident(n.nspname) || '.' || quote_ident(t.relname),
       quote_ident(n.nspname),
       quote_ident(pg_get_userbyid(t.relowner)),
       quote_literal(obj_description(t.oid, 'pg_class')),
       array_to_string(t.reloptions, ', ')
FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE t.oid = $1::text::regclass
