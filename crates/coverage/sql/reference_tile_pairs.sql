-- PostGIS reference, diagnostics: site-tile pairs of the preparation where
-- the site covers the whole tile, and those left to test cell by cell.
SELECT (SELECT count(*) FROM ref_reach WHERE whole) AS whole, (SELECT count(*) FROM ref_part) AS partial
