-- Operator rows go with them (ON DELETE CASCADE). $2 NULL = every municipality.
DELETE FROM coverage_result WHERE scenario = $1 AND ($2::text[] IS NULL OR ags = ANY ($2::text[]))
