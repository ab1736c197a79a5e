-- The archive of every event: one row per CloudEvent, unique on (time, source, id).
-- The unique key holds the time column because a TimescaleDB hypertable's unique
-- keys must include its partitioning column (see 004_timescaledb.sql).

CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE IF NOT EXISTS public.events (
    time        timestamptz NOT NULL,              -- the event's ce-time
    id          text        NOT NULL,              -- ce-id
    source      text        NOT NULL,              -- ce-source
    type        text        NOT NULL,              -- ce-type
    subject     text,                              -- ce-subject (upstream record id)
    nats_subject text       NOT NULL,
    stream      text        NOT NULL,
    stream_seq  bigint      NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(), -- when the archiver committed it
    geom        geometry(Geometry, 4326),          -- from data.geometry (GeoJSON)
    data        jsonb,
    attributes  jsonb       NOT NULL,              -- every context attribute
    trace_id    text,                              -- from the W3C traceparent header
    CONSTRAINT events_time_source_id_key UNIQUE (time, source, id)
);

COMMENT ON TABLE public.events IS
    'Every archived CloudEvent; attributes plus data rebuild the event exactly.';

-- BRIN keeps time-range scans cheap at almost no insert cost: rows arrive roughly
-- in time order. The unique index above already serves narrow time lookups.
CREATE INDEX IF NOT EXISTS events_time_brin ON public.events USING brin (time);
CREATE INDEX IF NOT EXISTS events_type_time_idx ON public.events (type, time DESC);
CREATE INDEX IF NOT EXISTS events_subject_time_idx
    ON public.events (subject, time DESC);
CREATE INDEX IF NOT EXISTS events_geom_gist ON public.events USING gist (geom);
