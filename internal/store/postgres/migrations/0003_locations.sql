-- Locations (sites) and which station stands where: the SQLite store's 0003 in PostgreSQL's
-- dialect.

CREATE TABLE locations (
    id            text COLLATE "C" NOT NULL PRIMARY KEY,
    name          text             NOT NULL,
    street        text             NOT NULL,
    city          text             NOT NULL,
    postal_code   text             NOT NULL,
    country       text             NOT NULL,
    latitude      double precision NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude     double precision NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    time_zone     text             NOT NULL,
    operator      text             NOT NULL DEFAULT '',
    opening_hours jsonb,
    created_at    timestamptz      NOT NULL,
    updated_at    timestamptz      NOT NULL
);

CREATE TABLE station_locations (
    station_id  text COLLATE "C" NOT NULL PRIMARY KEY REFERENCES stations (id) ON DELETE CASCADE,
    location_id text COLLATE "C" NOT NULL REFERENCES locations (id)
);

CREATE INDEX station_locations_by_location ON station_locations (location_id, station_id);
