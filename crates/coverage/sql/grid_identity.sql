-- The database's identity for the grid snapshot's key (issue 24): the
-- cluster's system identifier (where this role may read it; a role without
-- the right gets NULL, and the database OID and name still tell databases
-- of one cluster apart), the database's OID and name.
SELECT CASE WHEN has_function_privilege('pg_control_system()', 'EXECUTE')
            THEN (SELECT system_identifier::text FROM pg_control_system()) END AS system_identifier,
       d.oid::int8 AS database_oid, d.datname::text AS database
FROM pg_database d
WHERE d.datname = current_database()
