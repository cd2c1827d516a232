-- The reported coverage the PostGIS reference counts for a date (filled by
-- reference_reported_at.sql).
CREATE TEMP TABLE ref_reported (
    n integer, e integer, lte_count smallint, lte_operators integer, nr_count smallint, nr_operators integer
)
