-- Right after our COMMIT: a WAL position at or beyond its commit record.
SELECT pg_current_wal_insert_lsn()::text
