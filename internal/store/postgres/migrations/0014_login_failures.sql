-- Failed console sign-ins per key: the SQLite store's 0014 in PostgreSQL's dialect. The key is
-- stored as its SHA-256 only.
CREATE TABLE login_failures (
    key_hash text COLLATE "C" NOT NULL PRIMARY KEY CHECK (length(key_hash) = 64),
    failures integer     NOT NULL CHECK (failures > 0),
    first_at timestamptz NOT NULL
);

CREATE INDEX login_failures_first ON login_failures (first_at);
