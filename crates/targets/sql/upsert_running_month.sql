-- Every target's value for the running month, computed and recorded in one
-- statement (after a single write, in the same transaction as the new
-- figures). The same arithmetic as metric_measures_completed.sql and
-- metric_coverage.sql, so the point equals `metric_value` at $1.
-- $1 = today; per target: $2 id, $3 metric, $4 kinds (JSON array of text,
-- measures_completed), $5 completed_after, $6 technology (coverage metrics).
INSERT INTO target_history (target_id, month, value)
SELECT t.id,
       date_trunc('month', $1::date)::date,
       CASE t.metric
           WHEN 'measures_completed' THEN
               (SELECT count(*)::float8
                FROM measure m
                WHERE m.status = 'completed'
                  AND m.kind = ANY (ARRAY(SELECT jsonb_array_elements_text(t.kinds)))
                  AND (t.after IS NULL OR m.completed_date > t.after)
                  AND m.completed_date <= $1::date)
           WHEN 'household_share' THEN coalesce(c.household_share, 0)
           WHEN 'area_share' THEN coalesce(c.area_share, 0)
           WHEN 'dead_spot_area_km2' THEN coalesce(c.dead_km2, 0)
       END
FROM unnest($2::text[], $3::text[], $4::jsonb[], $5::date[], $6::text[]) AS t(id, metric, kinds, after, tech)
LEFT JOIN (
    SELECT technology,
           100 * sum(households_covered) / nullif(sum(households), 0) AS household_share,
           100 * sum(cells_covered)::float8 / nullif(sum(cells), 0) AS area_share,
           (sum(dead_cells) * 0.01)::float8 AS dead_km2
    FROM coverage_result
    WHERE NOT scenario
    GROUP BY technology
) c ON c.technology = t.tech
ON CONFLICT (target_id, month) DO UPDATE SET value = EXCLUDED.value
