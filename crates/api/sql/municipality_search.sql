-- Municipalities by AGS prefix or by name (prefix matches first, then
-- substring), for the web app's search box. $1 is the lower-cased query
-- with LIKE wildcards escaped.
SELECT coalesce(json_agg(json_build_object('ags', ags, 'name', name, 'district', district) ORDER BY rank, name, ags), '[]')::text AS municipalities
FROM (
    SELECT ags, name, district,
           CASE WHEN ags LIKE $1 || '%' THEN 0 WHEN lower(name) LIKE $1 || '%' THEN 1 ELSE 2 END AS rank
    FROM municipality
    WHERE $1 = '' OR ags LIKE $1 || '%' OR lower(name) LIKE '%' || $1 || '%'
    ORDER BY rank, name, ags
    LIMIT $2
) t
