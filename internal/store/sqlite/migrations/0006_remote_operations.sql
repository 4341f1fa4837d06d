-- Remote operations: each station's reported configuration (1.6 keys, 2.0.1 device-model
-- variables), configuration templates per station model, and the local authorization list the
-- CSMS last sent each station. Same conventions as 0001.

CREATE TABLE station_config (
    station_id TEXT    NOT NULL REFERENCES stations (id) ON DELETE CASCADE,
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL DEFAULT '',
    read_only  INTEGER NOT NULL DEFAULT 0 CHECK (read_only IN (0, 1)),
    detail     TEXT,
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (station_id, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE config_templates (
    id         TEXT NOT NULL PRIMARY KEY,
    vendor     TEXT NOT NULL,
    model      TEXT NOT NULL,
    vals       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE local_lists (
    station_id  TEXT    NOT NULL PRIMARY KEY REFERENCES stations (id) ON DELETE CASCADE,
    version     INTEGER NOT NULL CHECK (version >= 0),
    update_type TEXT    NOT NULL,
    entries     TEXT    NOT NULL,
    sent_at     TEXT    NOT NULL
) STRICT, WITHOUT ROWID;
