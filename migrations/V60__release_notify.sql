-- The API's response cache turns over when a coverage release is ingested,
-- replaced or dropped: /api/v1/releases and the municipalities' changes
-- read these tables directly (issue 16).
CREATE TRIGGER coverage_release_api_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON coverage_release
    FOR EACH STATEMENT EXECUTE FUNCTION api_notify_change();
CREATE TRIGGER reported_coverage_version_api_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON reported_coverage_version
    FOR EACH STATEMENT EXECUTE FUNCTION api_notify_change();
