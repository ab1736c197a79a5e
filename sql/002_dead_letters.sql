-- Messages the archiver could not store as events: not a valid CloudEvent, or
-- refused by the database (for example a geometry PostGIS rejects). The raw body
-- and headers are kept so the message can be inspected and replayed.

CREATE TABLE IF NOT EXISTS public.dead_letters (
    id           bigserial   PRIMARY KEY,
    received_at  timestamptz NOT NULL DEFAULT now(),
    stream       text        NOT NULL,
    stream_seq   bigint,
    nats_subject text        NOT NULL,
    reason       text        NOT NULL,
    headers      jsonb,
    body         bytea       NOT NULL
);

CREATE INDEX IF NOT EXISTS dead_letters_received_at_idx
    ON public.dead_letters (received_at);
CREATE INDEX IF NOT EXISTS dead_letters_stream_seq_idx
    ON public.dead_letters (stream, stream_seq);
