-- The arithmetic of the targets' metrics, in one place. `metric_value`
-- (crates/targets/sql/metric_*.sql), the running month recorded after a
-- write (upsert_running_month.sql) and the replay of measure completions
-- (history_measures_completed.sql) all call these, so they cannot drift
-- apart. Plain SQL functions: the planner sees through them.

-- Completed measures of the given kinds, completed after `after` (the
-- strategy's adoption; NULL = any time) and up to `upto`.
CREATE FUNCTION target_measures_completed(kinds text[], after date, upto date) RETURNS float8
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT count(*)::float8
    FROM measure
    WHERE status = 'completed'
      AND kind = ANY (kinds)
      AND (after IS NULL OR completed_date > after)
      AND completed_date <= upto
$$;

-- State-wide coverage of one technology, summed over municipalities
-- (actual, not scenario): household share and area share in percent,
-- dead-spot area in km² (a cell is 0.01 km²), and when the figures were
-- computed. 0 (and NULL computed_at) before any recompute.
CREATE FUNCTION target_coverage_metrics(tech text)
RETURNS TABLE (household_share float8, area_share float8, dead_km2 float8, computed_at timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(100 * sum(households_covered) / nullif(sum(households), 0), 0)::float8,
           coalesce(100 * sum(cells_covered)::float8 / nullif(sum(cells), 0), 0)::float8,
           coalesce(sum(dead_cells) * 0.01, 0)::float8,
           max(computed_at)
    FROM coverage_result
    WHERE NOT scenario AND technology = tech
$$;
