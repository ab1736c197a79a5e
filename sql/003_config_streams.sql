-- Operator-tunable JetStream limits, one row per registry stream. The migrate
-- command seeds missing rows from the registry defaults and never overwrites a row;
-- the stream-provisioner reads these columns and applies them.

CREATE SCHEMA IF NOT EXISTS config;

CREATE TABLE IF NOT EXISTS config.streams (
    name               text             PRIMARY KEY,
    max_age_s          double precision NOT NULL CHECK (max_age_s >= 0),
    max_bytes          bigint           NOT NULL CHECK (max_bytes >= -1),
    duplicate_window_s double precision NOT NULL CHECK (duplicate_window_s >= 0),
    replicas           int              NOT NULL CHECK (replicas BETWEEN 1 AND 5),
    updated_at         timestamptz      NOT NULL DEFAULT now(),
    updated_by         text             NOT NULL DEFAULT 'seed'
);

COMMENT ON TABLE config.streams IS
    'JetStream limits per stream; edit a row (and updated_by) to change a stream.';
