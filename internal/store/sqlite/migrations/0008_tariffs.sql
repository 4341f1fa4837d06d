-- Tariffs (issue 7): OCPI 2.2.1 tariff bodies, what applies them to stations, the tariff pinned
-- on each session when it starts, and the immutable charge detail records.
--
-- Same conventions as 0001/0002: timestamps are fixed-width UTC text, NULL means "none".

-- body is the OCPI Tariff object as JSON text, checked by package pricing before it is stored.
CREATE TABLE tariffs (
    id         TEXT NOT NULL PRIMARY KEY,
    body       TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- A station's default tariff (PATCH /stations/{id} tariffId) and the time zone its tariff
-- restrictions are read in. A tariff in use cannot be deleted (DeleteTariff checks, the foreign
-- key backs it up).
CREATE TABLE station_pricing (
    station_id TEXT NOT NULL PRIMARY KEY REFERENCES stations (id) ON DELETE CASCADE,
    tariff_id  TEXT REFERENCES tariffs (id),
    time_zone  TEXT NOT NULL DEFAULT ''
) STRICT, WITHOUT ROWID;

-- station_id NULL: all stations; evse_id 0: the whole station; group_id '': every token.
CREATE TABLE tariff_assignments (
    id         INTEGER PRIMARY KEY,
    tariff_id  TEXT    NOT NULL REFERENCES tariffs (id),
    station_id TEXT    REFERENCES stations (id) ON DELETE CASCADE,
    evse_id    INTEGER NOT NULL DEFAULT 0 CHECK (evse_id >= 0),
    group_id   TEXT    NOT NULL DEFAULT '',
    valid_from TEXT,
    valid_to   TEXT,
    created_at TEXT    NOT NULL
) STRICT;

CREATE INDEX tariff_assignments_by_station ON tariff_assignments (station_id, id);
CREATE INDEX tariff_assignments_by_tariff ON tariff_assignments (tariff_id);
CREATE INDEX station_pricing_by_tariff ON station_pricing (tariff_id);

-- The tariff a session is priced with, copied when it starts: later edits never reprice it.
-- tariff_id '' records that no tariff applied. Sessions from before this migration are pinned to
-- "no tariff" so that they are never priced after the fact.
CREATE TABLE session_tariffs (
    session_id INTEGER NOT NULL PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    tariff_id  TEXT    NOT NULL DEFAULT '',
    body       TEXT,
    time_zone  TEXT    NOT NULL DEFAULT '',
    pinned_at  TEXT    NOT NULL
) STRICT;

INSERT INTO session_tariffs (session_id, tariff_id, pinned_at) SELECT id, '', created_at FROM sessions;

-- One CDR per completed session, inserted once and never updated. Not a foreign key: a CDR is a
-- billing record and outlives its session.
CREATE TABLE cdrs (
    id             TEXT    NOT NULL PRIMARY KEY,
    session_id     INTEGER NOT NULL UNIQUE,
    station_id     TEXT    NOT NULL,
    evse_id        INTEGER NOT NULL,
    id_token       TEXT    NOT NULL DEFAULT '',
    started_at     TEXT    NOT NULL,
    stopped_at     TEXT    NOT NULL,
    currency       TEXT    NOT NULL DEFAULT '',
    total_excl_vat TEXT    NOT NULL DEFAULT '',
    total_incl_vat TEXT    NOT NULL DEFAULT '',
    energy_wh      REAL    NOT NULL,
    body           TEXT    NOT NULL,
    created_at     TEXT    NOT NULL
) STRICT;

CREATE INDEX cdrs_by_station ON cdrs (station_id, session_id);
CREATE INDEX cdrs_by_token ON cdrs (id_token, session_id);
CREATE INDEX cdrs_by_stop ON cdrs (stopped_at);
