-- Why `table` cannot be replaced by swapping in a new table (no rows: it
-- can). A swap drops the old table, so everything bound to its OID rather
-- than its name would be dropped with it or left pointing at nothing:
-- views and rules reading it, functions and columns of its row type,
-- foreign keys to or from it, sequences it owns, inheritance, row security, publications.
-- Only the table's owner (or a member of the owning role) may drop it.
SELECT DISTINCT reason FROM (
    SELECT pg_describe_object(d.classid, d.objid, d.objsubid) || ' depends on it' AS reason
    FROM pg_depend d, pg_class t
    WHERE t.oid = $1::text::regclass
      AND d.deptype = 'n'
      AND ((d.refclassid = 'pg_class'::regclass AND d.refobjid = t.oid)
           OR (d.refclassid = 'pg_type'::regclass AND d.refobjid = t.reltype))
      AND d.classid <> 'pg_constraint'::regclass -- foreign keys: below
      -- its own triggers and column defaults travel with it
      AND NOT (d.classid = 'pg_trigger'::regclass AND EXISTS (SELECT 1 FROM pg_trigger g WHERE g.oid = d.objid AND g.tgrelid = t.oid))
      AND NOT (d.classid = 'pg_attrdef'::regclass AND EXISTS (SELECT 1 FROM pg_attrdef a WHERE a.oid = d.objid AND a.adrelid = t.oid))
    UNION ALL
    SELECT 'foreign key ' || c.conname || ' on ' || c.conrelid::regclass::text
    FROM pg_constraint c
    WHERE c.contype = 'f' AND (c.conrelid = $1::text::regclass OR c.confrelid = $1::text::regclass)
    UNION ALL
    -- a new table would share the sequence (dropped with the old table) or
    -- start its identity over
    SELECT 'column ' || a.attname || ' takes its values from a sequence'
    FROM pg_attribute a
    WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped
      AND (a.attidentity <> '' OR EXISTS (
          SELECT 1 FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
          WHERE d.classid = 'pg_class'::regclass AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum))
    UNION ALL
    SELECT 'it takes part in table inheritance or partitioning'
    FROM pg_class t
    WHERE t.oid = $1::text::regclass
      AND (t.relkind <> 'r' OR EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = t.oid OR i.inhparent = t.oid))
    UNION ALL
    SELECT 'it has row-level security policies'
    FROM pg_class t
    WHERE t.oid = $1::text::regclass
      AND (t.relrowsecurity OR EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = t.oid))
    UNION ALL
    SELECT 'it is in publication ' || p.pubname
    FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid
    WHERE r.prrelid = $1::text::regclass
    UNION ALL
    SELECT 'the ingest''s role ' || current_user || ' does not own it'
    FROM pg_class t
    WHERE t.oid = $1::text::regclass AND NOT pg_has_role(t.relowner, 'USAGE')
) r
ORDER BY reason
