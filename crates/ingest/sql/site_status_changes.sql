-- Status changes against the database, checked for legal transitions in Rust.
SELECT st.line, st.site_id, s.status AS old_status, st.status AS new_status
FROM ingest_site_stage st JOIN site s USING (site_id)
WHERE s.status <> st.status
ORDER BY st.line
