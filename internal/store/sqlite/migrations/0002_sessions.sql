-- Tokens, charging sessions, meter samples and the exactly-once ledger of station messages.
--
-- Same conventions as 0001: timestamps are fixed-width UTC text, NULL means "none" (zero
-- time.Time); optional numbers are NULL when absent.

CREATE TABLE tokens (
    uid        TEXT NOT NULL PRIMARY KEY,
    type       TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL,
    expires_at TEXT,
    group_id   TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- The id is also the OCPP 1.6 transactionId a station was given: AUTOINCREMENT so that an id
-- is never handed out twice, even after the newest session was deleted.
-- station_id is deliberately not a foreign key: sessions are billing records and outlive a
-- deleted station.
CREATE TABLE sessions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id      TEXT    NOT NULL,
    evse_id         INTEGER NOT NULL CHECK (evse_id >= 0),
    connector_id    INTEGER NOT NULL CHECK (connector_id >= 0),
    transaction_id  TEXT    NOT NULL,
    id_token        TEXT    NOT NULL DEFAULT '',
    id_token_type   TEXT    NOT NULL DEFAULT '',
    auth_status     TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL CHECK (status IN ('active', 'completed')),
    started_at      TEXT    NOT NULL,
    stopped_at      TEXT,
    meter_start_wh  REAL,
    meter_start_at  TEXT,
    meter_stop_wh   REAL,
    meter_last_wh   REAL,
    meter_last_at   TEXT,
    energy_wh       REAL    NOT NULL DEFAULT 0,
    stop_reason     TEXT    NOT NULL DEFAULT '',
    remote_start_id INTEGER,
    reservation_id  INTEGER,
    charging_state  TEXT    NOT NULL DEFAULT '',
    last_seq_no     INTEGER,
    last_event_at   TEXT    NOT NULL,
    last_station_at TEXT,
    flag            TEXT    NOT NULL DEFAULT '',
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    UNIQUE (station_id, transaction_id)
) STRICT;

-- ActiveSessionOn: the newest active session of an EVSE.
CREATE INDEX sessions_active_on ON sessions (station_id, evse_id, started_at) WHERE status = 'active';
-- Sessions (newest first) filtered by station, token or remote start.
CREATE INDEX sessions_by_station ON sessions (station_id, id);
CREATE INDEX sessions_by_token ON sessions (id_token, id);
CREATE INDEX sessions_by_remote_start ON sessions (remote_start_id, id) WHERE remote_start_id IS NOT NULL;
-- StaleSessions, and the status filter.
CREATE INDEX sessions_by_status ON sessions (status, last_event_at);

-- session_id is NULL for readings that belong to no session (clock-aligned values of an idle
-- connector). station_id is not a foreign key, for the same reason as in sessions.
CREATE TABLE meter_samples (
    id         INTEGER PRIMARY KEY,
    session_id INTEGER REFERENCES sessions (id) ON DELETE CASCADE,
    station_id TEXT    NOT NULL,
    evse_id    INTEGER NOT NULL,
    at         TEXT    NOT NULL,
    measurand  TEXT    NOT NULL DEFAULT '',
    phase      TEXT    NOT NULL DEFAULT '',
    location   TEXT    NOT NULL DEFAULT '',
    context    TEXT    NOT NULL DEFAULT '',
    unit       TEXT    NOT NULL DEFAULT '',
    value      REAL    NOT NULL,
    signed     BLOB
) STRICT;

-- A reading a station sends twice (retransmitted with a different payload, repeated in a
-- StopTransaction's transactionData) is stored once: AddSamples inserts with ON CONFLICT DO NOTHING.
CREATE UNIQUE INDEX meter_samples_unique ON meter_samples (station_id, evse_id, at, measurand, phase, location, context);
CREATE INDEX meter_samples_by_session ON meter_samples (session_id, at);

-- The exactly-once ledger: one row per transactional station message applied, with the answer
-- it got, written in the same transaction as the message's effects.
CREATE TABLE station_messages (
    station_id TEXT NOT NULL,
    action     TEXT NOT NULL,
    digest     TEXT NOT NULL,
    answer     BLOB,
    at         TEXT NOT NULL,
    PRIMARY KEY (station_id, action, digest)
) STRICT, WITHOUT ROWID;

-- PruneStationMessages deletes by age.
CREATE INDEX station_messages_by_time ON station_messages (at);
