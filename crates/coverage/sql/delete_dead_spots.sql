DELETE FROM dead_spot WHERE $1::text[] IS NULL OR ags = ANY ($1::text[])
