-- A release dated $1 (its versions follow; they reference this row).
INSERT INTO coverage_release (as_of, cells, checksum, source_file, source_sha256)
VALUES ($1, $2, $3, $4, $5)
