-- Rows whose site is missing, or whose status would change (checked in Rust).
SELECT st.line, st.measure_id, st.site_id, (s.site_id IS NULL) AS no_site, m.status AS old_status, st.status AS new_status
FROM ingest_measure_stage st
LEFT JOIN site s ON s.site_id = st.site_id
LEFT JOIN measure m ON m.measure_id = st.measure_id
WHERE s.site_id IS NULL OR (m.status IS NOT NULL AND m.status <> st.status)
ORDER BY st.line
