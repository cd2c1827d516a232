-- Targets whose metric is computed from coverage (DESIGN §3, seeds/targets.json):
-- their monthly history needs a release.
SELECT count(*) AS targets FROM target WHERE metric IN ('household_share', 'area_share', 'dead_spot_area_km2')
