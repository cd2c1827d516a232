-- Status changes against the database, checked for legal transitions in Rust.
SELECT st.line, st.site_id, s.status, st.status
FROM ingest_site_stage st JOIN site s USING (site_id)
WHERE s.status <> st.status
ORDER BY st.line
