-- Whether the WAL is on disk up to $1 (a position from wal_insert_position.sql).
SELECT pg_current_wal_flush_lsn() >= $1::text::pg_lsn
