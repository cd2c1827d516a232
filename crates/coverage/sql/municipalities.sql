SELECT ags::text AS ags FROM municipality ORDER BY ags
