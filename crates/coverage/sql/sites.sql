-- Sites as the engine sees them: position, status, technologies, what the
-- open (planned / in-progress) measures would add, and since when each
-- technology is on air (earliest completed measure of it), for the history.
-- $1 = site ids to read, or NULL for all.
WITH m AS (
    SELECT site_id,
           array_agg(DISTINCT kind) FILTER (WHERE status IN ('planned', 'in_progress')) AS open_kinds,
           min(completed_date) FILTER (WHERE status = 'completed' AND kind IN ('lte_new_site', 'lte_upgrade')) AS lte_done,
           min(completed_date) FILTER (WHERE status = 'completed' AND kind = '5g_upgrade') AS nr_done
    FROM measure
    WHERE $1::text[] IS NULL OR site_id = ANY ($1)
    GROUP BY site_id
)
SELECT s.site_id, o.bit::int AS bit, ST_X(s.geom) AS x, ST_Y(s.geom) AS y, s.status, s.technologies, s.on_air_date,
       coalesce(m.open_kinds, '{}') AS open_kinds, m.lte_done, m.nr_done
FROM site s
JOIN operator o ON o.id = s.operator_id
LEFT JOIN m ON m.site_id = s.site_id
WHERE $1::text[] IS NULL OR s.site_id = ANY ($1)
