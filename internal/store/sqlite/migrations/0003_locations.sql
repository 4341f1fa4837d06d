-- Locations (sites) and which station stands where.
--
-- A station's location lives in its own table rather than a column of stations, so that the
-- station queries on the message path stay as they are. Deleting a station drops its
-- assignment; a location with stations cannot be deleted until they are unassigned (the API's
-- ?force=true does that first, in the same transaction).

CREATE TABLE locations (
    id            TEXT NOT NULL PRIMARY KEY,
    name          TEXT NOT NULL,
    street        TEXT NOT NULL,
    city          TEXT NOT NULL,
    postal_code   TEXT NOT NULL,
    country       TEXT NOT NULL,
    latitude      REAL NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude     REAL NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    time_zone     TEXT NOT NULL,
    operator      TEXT NOT NULL DEFAULT '',
    opening_hours TEXT, -- JSON of domain.OpeningHours; NULL when not given
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE station_locations (
    station_id  TEXT NOT NULL PRIMARY KEY REFERENCES stations (id) ON DELETE CASCADE,
    location_id TEXT NOT NULL REFERENCES locations (id)
) STRICT, WITHOUT ROWID;

CREATE INDEX station_locations_by_location ON station_locations (location_id, station_id);
