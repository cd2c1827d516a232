-- The coverage releases, oldest first, as a JSON array.
SELECT coalesce(json_agg(json_build_object(
           'as_of', as_of, 'cells', cells, 'source_file', source_file,
           'source_sha256', source_sha256, 'checksum', checksum, 'ingested_at', ingested_at)
       ORDER BY as_of), '[]')::text AS releases
FROM coverage_release
