-- The date the PostGIS reference counts at (reference_prepare.sql reads
-- it); '' = now. Session-wide, set before every preparation.
SELECT set_config('funkplan.reference_as_of', $1::text, false)
