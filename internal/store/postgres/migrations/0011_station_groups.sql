-- Station groups and their members: the SQLite store's 0010 in PostgreSQL's dialect.

CREATE TABLE station_groups (
    id           text COLLATE "C" NOT NULL PRIMARY KEY,
    name         text             NOT NULL,
    token_groups text[]           NOT NULL,
    all_tokens   boolean          NOT NULL,
    created_at   timestamptz      NOT NULL,
    updated_at   timestamptz      NOT NULL
);

CREATE TABLE station_group_members (
    station_id text COLLATE "C" NOT NULL PRIMARY KEY REFERENCES stations (id) ON DELETE CASCADE,
    group_id   text COLLATE "C" NOT NULL REFERENCES station_groups (id)
);

CREATE INDEX station_group_members_by_group ON station_group_members (group_id, station_id);
