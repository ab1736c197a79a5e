-- Database roles by duty. The migrating user owns the schema; each service works as
-- a role allowed only what its duty needs:
--
--   central_archiver     insert into events and dead_letters, nothing else
--   central_dashboard    read the archive (through central_reader), change
--                        config.streams and append to config.stream_changes
--   central_provisioner  read config.streams
--
-- The roles are created without a password or LOGIN; `central-archiver migrate`
-- turns LOGIN on and sets the password of each role whose password it is given
-- (CENTRAL_ARCHIVER_DB_PASSWORD and so on), so a service connects as its role.
-- Roles belong to the whole server: another database may have made them already,
-- or be making them at this moment.

DO $$
DECLARE
    duty text;
BEGIN
    FOREACH duty IN ARRAY ARRAY['central_archiver', 'central_dashboard',
                                'central_provisioner']
    LOOP
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = duty) THEN
                EXECUTE format('CREATE ROLE %I NOLOGIN', duty);
            END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            RAISE NOTICE 'role % was created concurrently', duty;
        END;
    END LOOP;
END
$$;

-- Nothing reaches the archive by default: PUBLIC may not create in public.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- The archiver: INSERT, plus SELECT on the columns of the unique key, which
-- INSERT ... ON CONFLICT (time, source, id) needs to find its arbiter; COPY of
-- dead letters needs their id sequence; the per-connection staging table needs
-- TEMPORARY on the database.
GRANT USAGE ON SCHEMA public TO central_archiver;
GRANT INSERT ON public.events, public.dead_letters TO central_archiver;
GRANT SELECT (time, source, id) ON public.events TO central_archiver;
GRANT USAGE ON SEQUENCE public.dead_letters_id_seq TO central_archiver;
DO $$
BEGIN
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO central_archiver',
                   current_database());
END
$$;

-- The dashboard: reads as central_reader (005), writes limits and their audit.
GRANT central_reader TO central_dashboard;
GRANT USAGE ON SCHEMA config TO central_dashboard;
GRANT SELECT, UPDATE ON config.streams TO central_dashboard;
GRANT SELECT, INSERT ON config.stream_changes TO central_dashboard;
GRANT USAGE ON SEQUENCE config.stream_changes_id_seq TO central_dashboard;

-- The stream-provisioner: reads the limits it applies.
GRANT USAGE ON SCHEMA config TO central_provisioner;
GRANT SELECT ON config.streams TO central_provisioner;
