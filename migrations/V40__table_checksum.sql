-- A checksum of a table's whole content, written by the ingest that last
-- wrote the table, so that re-ingesting an unchanged file can tell that
-- nothing changed without reading the table back into the client (issue 20:
-- ~12 s for reported_coverage at NRW scale). Only the writer knows what the
-- checksum covers (crates/ingest/src/coverage.rs: the normalised rows in key
-- order); a reader compares it with its own and trusts it only when equal.
CREATE TABLE table_checksum (
    table_name  text PRIMARY KEY,
    checksum    text NOT NULL,
    rows        bigint NOT NULL CHECK (rows >= 0),
    -- SHA-256 of the file whose rows the table holds exactly, if it does: a
    -- hint that the same file again changes nothing (the checksum decides).
    source_sha256 char(64),
    computed_at timestamptz NOT NULL DEFAULT now()
);

-- Any write to the table, by whatever means, forgets its checksum in the
-- same transaction, so a stored checksum always describes the table as it
-- is. The table's name is the trigger's argument, not TG_TABLE_NAME: the
-- ingest loads into a new table under another name and swaps it in, and the
-- trigger travels with it.
CREATE FUNCTION table_checksum_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM table_checksum WHERE table_name = TG_ARGV[0];
    RETURN NULL;
END $$;

CREATE TRIGGER reported_coverage_checksum_forget AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON reported_coverage
    FOR EACH STATEMENT EXECUTE FUNCTION table_checksum_forget('reported_coverage');
