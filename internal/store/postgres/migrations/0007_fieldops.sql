-- Field operations with a lifecycle: reservations, log / diagnostics upload requests, and the
-- server secrets they are signed with: the tables of the SQLite store's 0003 in PostgreSQL's
-- dialect. Same conventions as 0001.

-- The id is the OCPP reservationId (an OCPP integer: it stays far below 2^31).
CREATE TABLE reservations (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    station_id     text COLLATE "C" NOT NULL REFERENCES stations (id) ON DELETE CASCADE,
    evse_id        integer          NOT NULL CHECK (evse_id >= 0),
    id_token       text COLLATE "C" NOT NULL,
    id_token_type  text             NOT NULL DEFAULT '',
    expires_at     timestamptz      NOT NULL,
    status         text             NOT NULL CHECK (status IN ('requested', 'active', 'rejected', 'cancelled', 'expired', 'used')),
    station_status text             NOT NULL DEFAULT '',
    transaction_id text             NOT NULL DEFAULT '',
    actor          text             NOT NULL DEFAULT '',
    created_at     timestamptz      NOT NULL,
    updated_at     timestamptz      NOT NULL
);

CREATE INDEX reservations_by_station ON reservations (station_id, id);
CREATE INDEX reservations_open ON reservations (expires_at) WHERE status IN ('requested', 'active');

CREATE TABLE log_requests (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    station_id        text COLLATE "C" NOT NULL REFERENCES stations (id) ON DELETE CASCADE,
    type              text             NOT NULL CHECK (type IN ('diagnostics', 'security')),
    from_at           timestamptz,
    to_at             timestamptz,
    status            text             NOT NULL,
    upload_id         text COLLATE "C" NOT NULL UNIQUE,
    upload_expires_at timestamptz      NOT NULL,
    file_name         text             NOT NULL DEFAULT '',
    file_size         bigint           NOT NULL DEFAULT 0,
    file_path         text             NOT NULL DEFAULT '',
    received_at       timestamptz,
    actor             text             NOT NULL DEFAULT '',
    created_at        timestamptz      NOT NULL,
    updated_at        timestamptz      NOT NULL
);

CREATE INDEX log_requests_by_station ON log_requests (station_id, type, id);

CREATE TABLE server_secrets (
    name  text COLLATE "C" NOT NULL PRIMARY KEY,
    value bytea NOT NULL
);

CREATE TABLE firmware_campaigns (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                text             NOT NULL DEFAULT '',
    firmware_url        text             NOT NULL,
    signed              boolean          NOT NULL DEFAULT false,
    signing_certificate text             NOT NULL DEFAULT '',
    signature           text             NOT NULL DEFAULT '',
    start_at            timestamptz      NOT NULL,
    waves               jsonb            NOT NULL,
    failure_threshold   double precision NOT NULL,
    station_timeout_ms  bigint           NOT NULL,
    status              text             NOT NULL CHECK (status IN ('scheduled', 'running', 'halted', 'cancelled', 'completed')),
    wave                integer          NOT NULL DEFAULT 0,
    reason              text             NOT NULL DEFAULT '',
    actor               text             NOT NULL DEFAULT '',
    created_at          timestamptz      NOT NULL,
    updated_at          timestamptz      NOT NULL
);

CREATE INDEX firmware_campaigns_active ON firmware_campaigns (id) WHERE status IN ('scheduled', 'running');

CREATE TABLE campaign_targets (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id    bigint           NOT NULL REFERENCES firmware_campaigns (id) ON DELETE CASCADE,
    station_id     text COLLATE "C" NOT NULL REFERENCES stations (id) ON DELETE CASCADE,
    wave           integer          NOT NULL,
    status         text             NOT NULL CHECK (status IN ('pending', 'updating', 'installed', 'failed', 'cancelled')),
    station_status text             NOT NULL DEFAULT '',
    error          text             NOT NULL DEFAULT '',
    sent_at        timestamptz,
    updated_at     timestamptz      NOT NULL,
    UNIQUE (campaign_id, station_id)
);

CREATE INDEX campaign_targets_updating ON campaign_targets (station_id, id) WHERE status = 'updating';
