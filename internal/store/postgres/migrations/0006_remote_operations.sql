-- Remote operations: each station's reported configuration (1.6 keys, 2.0.1 device-model
-- variables), configuration templates per station model, and the local authorization list the
-- CSMS last sent each station: the tables of the SQLite store's 0003 in PostgreSQL's dialect.

CREATE TABLE station_config (
    station_id text COLLATE "C" NOT NULL REFERENCES stations (id) ON DELETE CASCADE,
    key        text COLLATE "C" NOT NULL,
    value      text        NOT NULL DEFAULT '',
    read_only  boolean     NOT NULL DEFAULT false,
    detail     jsonb,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (station_id, key)
);

CREATE TABLE config_templates (
    id         text COLLATE "C" NOT NULL PRIMARY KEY,
    vendor     text        NOT NULL,
    model      text        NOT NULL,
    vals       jsonb       NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE local_lists (
    station_id  text COLLATE "C" NOT NULL PRIMARY KEY REFERENCES stations (id) ON DELETE CASCADE,
    version     integer     NOT NULL CHECK (version >= 0),
    update_type text        NOT NULL,
    entries     jsonb       NOT NULL,
    sent_at     timestamptz NOT NULL
);
