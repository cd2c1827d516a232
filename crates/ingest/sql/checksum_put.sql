-- Record the checksum of a table's content as this ingest leaves it; after
-- the ingest's own writes, whose trigger has just forgotten the old one.
INSERT INTO table_checksum (table_name, checksum, rows) VALUES ($1, $2, $3)
ON CONFLICT (table_name) DO UPDATE SET checksum = EXCLUDED.checksum, rows = EXCLUDED.rows, computed_at = now()
