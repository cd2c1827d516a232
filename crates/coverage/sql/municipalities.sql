-- The municipalities of the scope: AGS from $1 to $2 (a state's prefix
-- padded with 0s and 9s; '00000000'..'99999999' for all).
SELECT ags::text AS ags FROM municipality WHERE ags BETWEEN $1::text AND $2::text ORDER BY ags
