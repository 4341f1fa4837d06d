-- Stations, their connectors, station events and the audit log: the tables of the SQLite
-- store's 0001 in PostgreSQL's dialect.
--
-- Timestamps are timestamptz (microseconds; the store truncates finer times before writing);
-- NULL means "never" (zero time.Time). JSON payloads are jsonb. Identifiers are COLLATE "C" so
-- that they order byte-wise, as Go strings and the SQLite store do (paging by id relies on it).

CREATE TABLE stations (
    id                  text COLLATE "C" NOT NULL PRIMARY KEY,
    name                text        NOT NULL DEFAULT '',
    password_hash       text        NOT NULL DEFAULT '',
    registration_status text        NOT NULL,
    connected           boolean     NOT NULL DEFAULT false,
    ocpp_version        text,
    vendor              text        NOT NULL DEFAULT '',
    model               text        NOT NULL DEFAULT '',
    serial_number       text        NOT NULL DEFAULT '',
    firmware_version    text        NOT NULL DEFAULT '',
    last_seen_at        timestamptz,
    -- The status of the station as a whole (OCPP 1.6 connector 0, StatusUpdate.EVSEID 0).
    -- It belongs to no EVSE, so it lives here rather than in connectors.
    status              text        NOT NULL DEFAULT '',
    ocpp_status         text        NOT NULL DEFAULT '',
    error_code          text        NOT NULL DEFAULT '',
    info                text        NOT NULL DEFAULT '',
    vendor_error_code   text        NOT NULL DEFAULT '',
    status_at           timestamptz,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);

-- An EVSE exists exactly when it has at least one connector row.
CREATE TABLE connectors (
    station_id        text COLLATE "C" NOT NULL REFERENCES stations (id) ON DELETE CASCADE,
    evse_id           integer     NOT NULL CHECK (evse_id > 0),
    connector_id      integer     NOT NULL CHECK (connector_id > 0),
    status            text        NOT NULL,
    ocpp_status       text        NOT NULL DEFAULT '',
    error_code        text        NOT NULL DEFAULT '',
    info              text        NOT NULL DEFAULT '',
    vendor_error_code text        NOT NULL DEFAULT '',
    updated_at        timestamptz NOT NULL,
    PRIMARY KEY (station_id, evse_id, connector_id)
);

CREATE TABLE station_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    station_id text COLLATE "C" NOT NULL REFERENCES stations (id) ON DELETE CASCADE,
    kind       text        NOT NULL,
    type       text        NOT NULL DEFAULT '',
    at         timestamptz NOT NULL,
    detail     jsonb
);

CREATE INDEX station_events_by_station_time ON station_events (station_id, at, id);

-- station_id is deliberately not a foreign key: the audit log outlives deleted stations.
CREATE TABLE audit (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL,
    actor      text NOT NULL DEFAULT '',
    station_id text COLLATE "C" NOT NULL DEFAULT '',
    action     text NOT NULL DEFAULT '',
    request    jsonb,
    response   jsonb,
    error      jsonb
);

CREATE INDEX audit_by_station ON audit (station_id, id);
