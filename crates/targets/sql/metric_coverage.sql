-- State-wide coverage of technology $1: household share, area share (%),
-- dead-spot area (km²), computed_at (migrations/V32__target_metrics.sql).
SELECT household_share, area_share, dead_km2, computed_at FROM target_coverage_metrics($1)
