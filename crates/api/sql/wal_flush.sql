-- A transaction with an id commits synchronously, which flushes the WAL up
-- to its commit record and so past every earlier commit.
SELECT pg_current_xact_id()
