-- The user-defined triggers of `table` (constraint triggers of foreign keys
-- are internal and excluded: a table with foreign keys is not swapped).
SELECT quote_ident(tgname) AS name, pg_get_triggerdef(oid) AS def
FROM pg_trigger
WHERE tgrelid = $1::text::regclass AND NOT tgisinternal
ORDER BY tgname
