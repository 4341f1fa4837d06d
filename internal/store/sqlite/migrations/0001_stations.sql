-- Stations, their connectors, station events and the audit log.
--
-- Timestamps are TEXT in UTC with a fixed nanosecond width ("2006-01-02T15:04:05.000000000Z"),
-- so comparing the text compares the instants. NULL means "never" (zero time.Time).
-- JSON payloads are TEXT.

CREATE TABLE stations (
    id                  TEXT    NOT NULL PRIMARY KEY,
    name                TEXT    NOT NULL DEFAULT '',
    password_hash       TEXT    NOT NULL DEFAULT '',
    registration_status TEXT    NOT NULL,
    connected           INTEGER NOT NULL DEFAULT 0 CHECK (connected IN (0, 1)),
    ocpp_version        TEXT,
    vendor              TEXT    NOT NULL DEFAULT '',
    model               TEXT    NOT NULL DEFAULT '',
    serial_number       TEXT    NOT NULL DEFAULT '',
    firmware_version    TEXT    NOT NULL DEFAULT '',
    last_seen_at        TEXT,
    -- The status of the station as a whole (OCPP 1.6 connector 0, StatusUpdate.EVSEID 0).
    -- It belongs to no EVSE, so it lives here rather than in connectors.
    status              TEXT    NOT NULL DEFAULT '',
    ocpp_status         TEXT    NOT NULL DEFAULT '',
    error_code          TEXT    NOT NULL DEFAULT '',
    info                TEXT    NOT NULL DEFAULT '',
    vendor_error_code   TEXT    NOT NULL DEFAULT '',
    status_at           TEXT,
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL
) STRICT, WITHOUT ROWID;

-- An EVSE exists exactly when it has at least one connector row.
CREATE TABLE connectors (
    station_id        TEXT    NOT NULL REFERENCES stations (id) ON DELETE CASCADE,
    evse_id           INTEGER NOT NULL CHECK (evse_id > 0),
    connector_id      INTEGER NOT NULL CHECK (connector_id > 0),
    status            TEXT    NOT NULL,
    ocpp_status       TEXT    NOT NULL DEFAULT '',
    error_code        TEXT    NOT NULL DEFAULT '',
    info              TEXT    NOT NULL DEFAULT '',
    vendor_error_code TEXT    NOT NULL DEFAULT '',
    updated_at        TEXT    NOT NULL,
    PRIMARY KEY (station_id, evse_id, connector_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE station_events (
    id         INTEGER NOT NULL PRIMARY KEY,
    station_id TEXT    NOT NULL REFERENCES stations (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    type       TEXT    NOT NULL DEFAULT '',
    at         TEXT    NOT NULL,
    detail     TEXT
) STRICT;

CREATE INDEX station_events_by_station_time ON station_events (station_id, at, id);

-- station_id is deliberately not a foreign key: the audit log outlives deleted stations.
CREATE TABLE audit (
    id         INTEGER NOT NULL PRIMARY KEY,
    at         TEXT    NOT NULL,
    actor      TEXT    NOT NULL DEFAULT '',
    station_id TEXT    NOT NULL DEFAULT '',
    action     TEXT    NOT NULL DEFAULT '',
    request    TEXT,
    response   TEXT,
    error      TEXT
) STRICT;

CREATE INDEX audit_by_station ON audit (station_id, id);
