-- Record the checksum of a table's content as this ingest leaves it; after
-- the ingest's own writes, whose trigger has just forgotten the old one.
INSERT INTO table_checksum (table_name, checksum, rows, source_sha256) VALUES ($1, $2, $3, $4)
ON CONFLICT (table_name) DO UPDATE
SET checksum = EXCLUDED.checksum, rows = EXCLUDED.rows, source_sha256 = EXCLUDED.source_sha256, computed_at = now()
