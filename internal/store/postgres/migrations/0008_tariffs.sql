-- Tariffs (issue 7): the tables of the SQLite store's 0003 in PostgreSQL's dialect.

CREATE TABLE tariffs (
    id         text COLLATE "C" NOT NULL PRIMARY KEY,
    body       text        NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE station_pricing (
    station_id text COLLATE "C" NOT NULL PRIMARY KEY REFERENCES stations (id) ON DELETE CASCADE,
    tariff_id  text COLLATE "C" REFERENCES tariffs (id),
    time_zone  text NOT NULL DEFAULT ''
);

CREATE TABLE tariff_assignments (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tariff_id  text COLLATE "C" NOT NULL REFERENCES tariffs (id),
    station_id text COLLATE "C" REFERENCES stations (id) ON DELETE CASCADE,
    evse_id    integer NOT NULL DEFAULT 0 CHECK (evse_id >= 0),
    group_id   text    NOT NULL DEFAULT '',
    valid_from timestamptz,
    valid_to   timestamptz,
    created_at timestamptz NOT NULL
);

CREATE INDEX tariff_assignments_by_station ON tariff_assignments (station_id, id);
CREATE INDEX tariff_assignments_by_tariff ON tariff_assignments (tariff_id);
CREATE INDEX station_pricing_by_tariff ON station_pricing (tariff_id);

-- body is kept as text, not jsonb: the pinned copy must stay byte for byte what was priced.
CREATE TABLE session_tariffs (
    session_id bigint NOT NULL PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    tariff_id  text   NOT NULL DEFAULT '',
    body       text,
    time_zone  text   NOT NULL DEFAULT '',
    pinned_at  timestamptz NOT NULL
);

INSERT INTO session_tariffs (session_id, tariff_id, pinned_at) SELECT id, '', created_at FROM sessions;

CREATE TABLE cdrs (
    id             text COLLATE "C" NOT NULL PRIMARY KEY,
    session_id     bigint  NOT NULL UNIQUE,
    station_id     text COLLATE "C" NOT NULL,
    evse_id        integer NOT NULL,
    id_token       text COLLATE "C" NOT NULL DEFAULT '',
    started_at     timestamptz NOT NULL,
    stopped_at     timestamptz NOT NULL,
    currency       text NOT NULL DEFAULT '',
    total_excl_vat text NOT NULL DEFAULT '',
    total_incl_vat text NOT NULL DEFAULT '',
    energy_wh      double precision NOT NULL,
    body           text NOT NULL,
    created_at     timestamptz NOT NULL
);

CREATE INDEX cdrs_by_station ON cdrs (station_id, session_id);
CREATE INDEX cdrs_by_token ON cdrs (id_token, session_id);
CREATE INDEX cdrs_by_stop ON cdrs (stopped_at);
