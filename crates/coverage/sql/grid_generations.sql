-- The generation counters of the tables the grid load reads (V90), with
-- each table's OID and how its generation trigger ($1) is enabled (NULL:
-- missing). Read in the load's own snapshot, so the counters and the rows
-- streamed belong to one moment.
SELECT g.table_name, g.generation, g.token::text AS token, c.oid::int8 AS relid, t.tgenabled::text AS enabled
FROM grid_generation g
LEFT JOIN pg_class c ON c.relname = g.table_name AND c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
LEFT JOIN pg_trigger t ON t.tgrelid = c.oid AND t.tgname = $1::text
ORDER BY g.table_name
