-- EVSEs at a location of their own: the SQLite store's 0013 in PostgreSQL's dialect. A row here
-- overrides the location of the EVSE's station.
CREATE TABLE evse_locations (
    station_id  text COLLATE "C" NOT NULL REFERENCES stations (id) ON DELETE CASCADE,
    evse_id     integer NOT NULL CHECK (evse_id > 0),
    location_id text COLLATE "C" NOT NULL REFERENCES locations (id),
    PRIMARY KEY (station_id, evse_id)
);

CREATE INDEX evse_locations_by_location ON evse_locations (location_id, station_id, evse_id);
