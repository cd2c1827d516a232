-- Every target's value for the running month, computed and recorded in one
-- statement (after a single write, in the same transaction as the new
-- figures), with the functions `metric_value` uses
-- (migrations/V32__target_metrics.sql), so the point equals `metric_value`
-- at $1.
-- $1 = today; per target: $2 id, $3 metric, $4 kinds (JSON array of text,
-- measures_completed), $5 completed_after, $6 technology (coverage metrics).
INSERT INTO target_history (target_id, month, value)
SELECT t.id,
       date_trunc('month', $1::date)::date,
       CASE t.metric
           WHEN 'measures_completed' THEN
               target_measures_completed(ARRAY(SELECT jsonb_array_elements_text(t.kinds)), t.after, $1::date)
           WHEN 'household_share' THEN c.household_share
           WHEN 'area_share' THEN c.area_share
           WHEN 'dead_spot_area_km2' THEN c.dead_km2
       END
FROM unnest($2::text[], $3::text[], $4::jsonb[], $5::date[], $6::text[]) AS t(id, metric, kinds, after, tech)
-- One state-wide sum per technology, not per target.
LEFT JOIN (
    SELECT d.tech, m.household_share, m.area_share, m.dead_km2
    FROM (SELECT DISTINCT tech FROM unnest($6::text[]) AS u(tech) WHERE tech IS NOT NULL) AS d,
         LATERAL target_coverage_metrics(d.tech) AS m
) c ON c.tech = t.tech
ON CONFLICT (target_id, month) DO UPDATE SET value = EXCLUDED.value
