SELECT ags::text FROM municipality ORDER BY ags
