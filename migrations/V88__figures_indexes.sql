-- Issue 19: a municipality's figures read on a cache miss. Measured on the
-- NRW bench database (27,128 sites, 26,600 measures), Köln (1,110 sites),
-- the statement as the server runs it (generic plan): 5.7–7.5 ms → 2.5 ms.
-- Its measures by kind and status joined every measure to the
-- municipality's sites with a sequential scan of `measure`: covered by
-- (site_id) with kind and status it is a nested loop of index-only probes.
-- coverage_result is keyed (scenario, ags, technology), so a lookup by AGS
-- scanned the table: an index on ags alone. The old measure_site_idx is
-- the new index's prefix and goes.
CREATE INDEX measure_site_kind_status_idx ON measure (site_id) INCLUDE (kind, status);
DROP INDEX measure_site_idx;
CREATE INDEX coverage_result_ags_idx ON coverage_result (ags);
