-- The dashboard: a read-only role for its archive queries, the indexes those
-- queries need, and the audit trail of stream-limit changes made through it.

-- Roles belong to the whole server, so another database may have made it already
-- (and may be making it right now: a concurrent CREATE ROLE fails as a duplicate).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'central_reader') THEN
        CREATE ROLE central_reader NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    RAISE NOTICE 'role central_reader was created concurrently';
END
$$;

-- The dashboard switches to central_reader (SET ROLE) for every query, which
-- needs membership unless it is a superuser: the migrating user gets it here
-- (where it may grant it), the dashboard's duty role in 006_roles.sql.
DO $$
BEGIN
    IF NOT pg_has_role(current_user, 'central_reader', 'MEMBER') THEN
        EXECUTE format('GRANT central_reader TO %I', current_user);
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'cannot grant central_reader to %: grant it by hand', current_user;
END
$$;

CREATE TABLE IF NOT EXISTS config.stream_changes (
    id         bigserial   PRIMARY KEY,
    changed_at timestamptz NOT NULL DEFAULT now(),
    stream     text        NOT NULL,
    actor      text        NOT NULL,              -- X-Central-Actor, or "dashboard"
    client     text,                              -- the client's address
    before     jsonb       NOT NULL,              -- the config.streams limits before
    after      jsonb       NOT NULL               -- and after the change
);

COMMENT ON TABLE config.stream_changes IS
    'Every stream-limit change applied through the dashboard, with who made it.';

CREATE INDEX IF NOT EXISTS stream_changes_stream_time_idx
    ON config.stream_changes (stream, changed_at DESC);

GRANT USAGE ON SCHEMA public, config TO central_reader;
GRANT SELECT ON public.events, public.dead_letters TO central_reader;
GRANT SELECT ON config.streams, config.stream_changes TO central_reader;

-- `near` filters with ST_DWithin on geography (metres on the spheroid); this
-- expression index is what makes that index-assisted. PostGIS coerces coordinates
-- slightly out of range instead of failing, so no row can make the cast refuse.
CREATE INDEX IF NOT EXISTS events_geog_gist
    ON public.events USING gist ((geom::geography));
-- One event by (source, id): the unique key leads with time, which a lookup
-- does not know.
CREATE INDEX IF NOT EXISTS events_id_idx ON public.events (id);
-- Pages of one source in the API's keyset order (time, source, id), newest first.
CREATE INDEX IF NOT EXISTS events_source_time_idx
    ON public.events (source, time DESC, id DESC);
