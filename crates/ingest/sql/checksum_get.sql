-- The stored checksum of a table's content (migration V40), if still
-- valid, and the SHA-256 of the file the table holds exactly, if any.
SELECT checksum, source_sha256 FROM table_checksum WHERE table_name = $1
