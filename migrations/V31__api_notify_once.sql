-- One notification per committing transaction, whatever tables it changed:
-- PostgreSQL folds identical (channel, payload) pairs within a transaction,
-- so a constant payload makes a multi-table change arrive as one message and
-- the API's cache turns over once, not once per table.
CREATE OR REPLACE FUNCTION api_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('funkplan_change', '');
    RETURN NULL;
END $$;
