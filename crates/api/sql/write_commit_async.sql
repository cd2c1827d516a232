-- A write answered only after the coverage hook: its COMMIT need not wait
-- for the WAL flush, the hook's own (synchronous) commit flushes past it,
-- and the API checks that before answering (wal_flushed_past.sql).
SET LOCAL synchronous_commit = off
