-- EVSEs at a location of their own. An EVSE is where its station is (station_locations) unless
-- it has a row here, which overrides that. Deleting the station drops its rows; a location with
-- EVSEs assigned cannot be deleted until they are unassigned (the API's ?force=true does that).
CREATE TABLE evse_locations (
    station_id  TEXT    NOT NULL REFERENCES stations (id) ON DELETE CASCADE,
    evse_id     INTEGER NOT NULL CHECK (evse_id > 0),
    location_id TEXT    NOT NULL REFERENCES locations (id),
    PRIMARY KEY (station_id, evse_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX evse_locations_by_location ON evse_locations (location_id, station_id, evse_id);
