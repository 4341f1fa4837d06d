-- Field operations with a lifecycle: reservations, log / diagnostics upload requests, and the
-- server secrets they are signed with. Same conventions as 0001.

-- The id is the OCPP reservationId: AUTOINCREMENT so that a station never sees one twice.
CREATE TABLE reservations (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id     TEXT    NOT NULL REFERENCES stations (id) ON DELETE CASCADE,
    evse_id        INTEGER NOT NULL CHECK (evse_id >= 0),
    id_token       TEXT    NOT NULL,
    id_token_type  TEXT    NOT NULL DEFAULT '',
    expires_at     TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('requested', 'active', 'rejected', 'cancelled', 'expired', 'used')),
    station_status TEXT    NOT NULL DEFAULT '',
    transaction_id TEXT    NOT NULL DEFAULT '',
    actor          TEXT    NOT NULL DEFAULT '',
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL
) STRICT;

CREATE INDEX reservations_by_station ON reservations (station_id, id);
-- DueReservations: open ones by expiry.
CREATE INDEX reservations_open ON reservations (expires_at) WHERE status IN ('requested', 'active');

-- The id is the OCPP requestId of GetLog (and names a 1.6 GetDiagnostics request).
CREATE TABLE log_requests (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id        TEXT    NOT NULL REFERENCES stations (id) ON DELETE CASCADE,
    type              TEXT    NOT NULL CHECK (type IN ('diagnostics', 'security')),
    from_at           TEXT,
    to_at             TEXT,
    status            TEXT    NOT NULL,
    upload_id         TEXT    NOT NULL UNIQUE,
    upload_expires_at TEXT    NOT NULL,
    file_name         TEXT    NOT NULL DEFAULT '',
    file_size         INTEGER NOT NULL DEFAULT 0,
    file_path         TEXT    NOT NULL DEFAULT '',
    received_at       TEXT,
    actor             TEXT    NOT NULL DEFAULT '',
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL
) STRICT;

CREATE INDEX log_requests_by_station ON log_requests (station_id, type, id);

CREATE TABLE server_secrets (
    name  TEXT NOT NULL PRIMARY KEY,
    value BLOB NOT NULL
) STRICT, WITHOUT ROWID;

-- Firmware campaigns. waves is a JSON array of cumulative percentages.
CREATE TABLE firmware_campaigns (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    name                TEXT    NOT NULL DEFAULT '',
    firmware_url        TEXT    NOT NULL,
    signed              INTEGER NOT NULL DEFAULT 0 CHECK (signed IN (0, 1)),
    signing_certificate TEXT    NOT NULL DEFAULT '',
    signature           TEXT    NOT NULL DEFAULT '',
    start_at            TEXT    NOT NULL,
    waves               TEXT    NOT NULL,
    failure_threshold   REAL    NOT NULL,
    station_timeout_ms  INTEGER NOT NULL,
    status              TEXT    NOT NULL CHECK (status IN ('scheduled', 'running', 'halted', 'cancelled', 'completed')),
    wave                INTEGER NOT NULL DEFAULT 0,
    reason              TEXT    NOT NULL DEFAULT '',
    actor               TEXT    NOT NULL DEFAULT '',
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL
) STRICT;

CREATE INDEX firmware_campaigns_active ON firmware_campaigns (id) WHERE status IN ('scheduled', 'running');

-- One row per station of a campaign; its id is the OCPP requestId of the update.
CREATE TABLE campaign_targets (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id    INTEGER NOT NULL REFERENCES firmware_campaigns (id) ON DELETE CASCADE,
    station_id     TEXT    NOT NULL REFERENCES stations (id) ON DELETE CASCADE,
    wave           INTEGER NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('pending', 'updating', 'installed', 'failed', 'cancelled')),
    station_status TEXT    NOT NULL DEFAULT '',
    error          TEXT    NOT NULL DEFAULT '',
    sent_at        TEXT,
    updated_at     TEXT    NOT NULL,
    UNIQUE (campaign_id, station_id)
) STRICT;

CREATE INDEX campaign_targets_updating ON campaign_targets (station_id, id) WHERE status = 'updating';
