-- Drop the reported coverage of an earlier preparation on this session:
-- a view (now) or a table (a date), whichever it was.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE c.relname = 'ref_reported' AND n.oid = pg_my_temp_schema() AND c.relkind = 'v') THEN
        DROP VIEW ref_reported CASCADE;
    END IF;
    DROP TABLE IF EXISTS ref_reported CASCADE;
END
$$
