-- Station groups: stations that share one local authorization list (the tokens of the group's
-- token groups). Membership lives in its own table, as locations do, so the station queries on
-- the message path stay as they are. Deleting a station drops its membership; a group with
-- stations cannot be deleted.

CREATE TABLE station_groups (
    id           TEXT    NOT NULL PRIMARY KEY,
    name         TEXT    NOT NULL,
    token_groups TEXT    NOT NULL, -- JSON array of token groupIds, sorted
    all_tokens   INTEGER NOT NULL CHECK (all_tokens IN (0, 1)),
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE station_group_members (
    station_id TEXT NOT NULL PRIMARY KEY REFERENCES stations (id) ON DELETE CASCADE,
    group_id   TEXT NOT NULL REFERENCES station_groups (id)
) STRICT, WITHOUT ROWID;

CREATE INDEX station_group_members_by_group ON station_group_members (group_id, station_id);
