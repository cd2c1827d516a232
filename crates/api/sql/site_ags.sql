-- The municipality a site lies in, and whether it exists at all.
SELECT ags FROM site WHERE site_id = $1 FOR SHARE
