-- Issue 24: a generation counter per table the engine's grid load reads, so
-- that a grid snapshot on local disk (crates/coverage/src/snapshot.rs) can
-- tell whether the database still holds what it was built from.
--
-- Every statement that changes one of those tables (INSERT, UPDATE, DELETE,
-- TRUNCATE, COPY) bumps its row here, in the same transaction: a reader in
-- a REPEATABLE READ snapshot sees the counter and the rows of one moment.
-- A counter row is updated, never a sequence: a sequence is not
-- transactional, so a reader could see a bump whose rows it cannot see yet
-- and key a snapshot of the old rows with the new counter.
--
-- `token` is drawn afresh at every bump: two copies of a database (a
-- restored dump, a promoted standby) that change differently from the same
-- counter never end up with the same (generation, token).
--
-- Statement triggers, not row triggers: a bulk load of 35 M cells bumps
-- once. They also fire for statements that change no row; such a bump only
-- costs the next start a load from PostgreSQL.
--
-- ENABLE ALWAYS: the triggers fire under session_replication_role =
-- replica too (a logical replication apply). The loader uses a snapshot
-- only while every table's trigger exists and is enabled ALWAYS: a trigger
-- that was disabled (ALTER TABLE … DISABLE TRIGGER, pg_restore
-- --disable-triggers) and enabled again is plain ENABLE ('O'), and the
-- loader then refuses snapshots until it is ENABLE ALWAYS again, since
-- changes made meanwhile bumped nothing. The ingest's table swap
-- (crates/ingest/src/pgcopy.rs) carries the triggers and their enabled
-- state over to the new table; the table's OID is part of the snapshot's
-- key as well.
CREATE TABLE grid_generation (
    table_name  text PRIMARY KEY,
    generation  bigint NOT NULL DEFAULT 0,
    token       uuid NOT NULL DEFAULT gen_random_uuid(),
    changed_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE grid_generation IS
    'Generation counters of the tables the coverage engine''s grid load reads (issue 24), bumped by statement triggers; keys the grid snapshot.';

INSERT INTO grid_generation (table_name)
VALUES ('municipality'), ('grid_cell'), ('household_cell'), ('reported_coverage'), ('coverage_release'), ('reported_coverage_version');

-- TG_ARGV[0] names the row, not TG_TABLE_NAME: a table being filled under
-- another name before it is swapped in bumps the row of the table it
-- replaces. SECURITY DEFINER (with the search path fixed): a role that may
-- write a grid table need not be granted UPDATE on grid_generation.
CREATE FUNCTION grid_generation_bump() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE grid_generation
    SET generation = generation + 1, token = gen_random_uuid(), changed_at = clock_timestamp()
    WHERE table_name = TG_ARGV[0];
    IF NOT FOUND THEN
        RAISE EXCEPTION 'grid_generation has no row for table %', TG_ARGV[0];
    END IF;
    RETURN NULL;
END
$$;

-- The municipality table's other columns (names, population, outlines) are
-- not part of the grid: only a change of the AGS set counts there.
CREATE TRIGGER grid_generation_bump AFTER INSERT OR UPDATE OF ags OR DELETE OR TRUNCATE ON municipality
    FOR EACH STATEMENT EXECUTE FUNCTION grid_generation_bump('municipality');
CREATE TRIGGER grid_generation_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON grid_cell
    FOR EACH STATEMENT EXECUTE FUNCTION grid_generation_bump('grid_cell');
CREATE TRIGGER grid_generation_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON household_cell
    FOR EACH STATEMENT EXECUTE FUNCTION grid_generation_bump('household_cell');
CREATE TRIGGER grid_generation_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON reported_coverage
    FOR EACH STATEMENT EXECUTE FUNCTION grid_generation_bump('reported_coverage');
CREATE TRIGGER grid_generation_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON coverage_release
    FOR EACH STATEMENT EXECUTE FUNCTION grid_generation_bump('coverage_release');
CREATE TRIGGER grid_generation_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON reported_coverage_version
    FOR EACH STATEMENT EXECUTE FUNCTION grid_generation_bump('reported_coverage_version');

ALTER TABLE municipality ENABLE ALWAYS TRIGGER grid_generation_bump;
ALTER TABLE grid_cell ENABLE ALWAYS TRIGGER grid_generation_bump;
ALTER TABLE household_cell ENABLE ALWAYS TRIGGER grid_generation_bump;
ALTER TABLE reported_coverage ENABLE ALWAYS TRIGGER grid_generation_bump;
ALTER TABLE coverage_release ENABLE ALWAYS TRIGGER grid_generation_bump;
ALTER TABLE reported_coverage_version ENABLE ALWAYS TRIGGER grid_generation_bump;

-- A trigger disabled, changes made, the trigger enabled again: none of it
-- bumps a counter by the statement triggers. Where the migrating role may
-- (a superuser: the embedded cluster, most single-server set-ups), an
-- event trigger bumps a table's counter at every ALTER TABLE of it, the
-- disabling and the enabling included, so the changes in between are
-- counted after all. Without it, the loader still refuses snapshots while
-- a trigger is not ENABLE ALWAYS and removes the file it finds then.
CREATE FUNCTION grid_generation_ddl() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE grid_generation g
    SET generation = g.generation + 1, token = gen_random_uuid(), changed_at = clock_timestamp()
    FROM pg_event_trigger_ddl_commands() c
    JOIN pg_class t ON t.oid = c.objid
    WHERE c.classid = 'pg_class'::regclass AND t.relname = g.table_name;
END
$$;
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        CREATE EVENT TRIGGER grid_generation_ddl ON ddl_command_end WHEN TAG IN ('ALTER TABLE')
            EXECUTE FUNCTION grid_generation_ddl();
    END IF;
END
$$;
