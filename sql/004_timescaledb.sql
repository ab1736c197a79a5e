-- TimescaleDB where the server has it: events becomes a hypertable (1-day chunks)
-- with compression after 7 days and retention of 365 days. Without the extension
-- nothing happens and events stays a plain table, so both kinds of server run the
-- same files. The functions below are only resolved when their branch runs.

DO $$
DECLARE
    preload text;
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'
    ) THEN
        RAISE NOTICE 'timescaledb is not available: events stays a plain table';
        RETURN;
    END IF;

    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        -- CREATE EXTENSION fails unless the library is preloaded; say so instead.
        -- Reading the setting needs pg_read_all_settings; without it, let
        -- CREATE EXTENSION give its own error.
        BEGIN
            preload := current_setting('shared_preload_libraries');
        EXCEPTION WHEN insufficient_privilege THEN
            preload := NULL;
        END;
        IF preload IS NOT NULL AND preload NOT LIKE '%timescaledb%' THEN
            RAISE WARNING 'timescaledb is not preloaded: events stays a plain table';
            RETURN;
        END IF;
        CREATE EXTENSION timescaledb;
    END IF;

    PERFORM create_hypertable(
        'public.events', 'time',
        chunk_time_interval => INTERVAL '1 day',
        create_default_indexes => false,
        if_not_exists => true,
        migrate_data => true
    );

    -- Compression and policies are features of the Timescale License build; the
    -- Apache-only build gets the hypertable alone.
    IF coalesce(current_setting('timescaledb.license', true), '') = 'apache' THEN
        RAISE WARNING 'timescaledb apache build: no compression or retention';
        RETURN;
    END IF;

    -- Segment by source: the unique key (time, source, id) is then checked against
    -- one segment when a late event lands in a compressed chunk.
    IF NOT EXISTS (
        SELECT 1 FROM timescaledb_information.hypertables
        WHERE hypertable_schema = 'public' AND hypertable_name = 'events'
          AND compression_enabled
    ) THEN
        ALTER TABLE public.events SET (
            timescaledb.compress,
            timescaledb.compress_segmentby = 'source',
            timescaledb.compress_orderby = 'time DESC, id'
        );
    END IF;

    PERFORM add_compression_policy(
        'public.events', INTERVAL '7 days', if_not_exists => true
    );
    PERFORM add_retention_policy(
        'public.events', INTERVAL '365 days', if_not_exists => true
    );
END
$$;
