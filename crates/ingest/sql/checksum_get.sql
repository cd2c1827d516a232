-- The stored checksum of a table's content (migration V40), if still valid.
SELECT checksum FROM table_checksum WHERE table_name = $1
