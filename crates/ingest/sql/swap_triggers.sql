-- The user-defined triggers of `table` (constraint triggers of foreign keys
-- are internal and excluded: a table with foreign keys is not swapped), and
-- how each is enabled (pg_trigger.tgenabled: O origin, A always, R replica,
-- D disabled), which the definition does not say.
SELECT quote_ident(tgname) AS name, pg_get_triggerdef(oid) AS def, tgenabled::text AS enabled
FROM pg_trigger
WHERE tgrelid = $1::text::regclass AND NOT tgisinternal
ORDER BY tgname
