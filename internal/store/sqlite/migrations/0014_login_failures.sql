-- Failed console sign-ins per key (an email or a client address), so that every node of a
-- cluster throttles the same guesses. The key is stored as its SHA-256 only.
CREATE TABLE login_failures (
    key_hash TEXT    NOT NULL PRIMARY KEY CHECK (length(key_hash) = 64),
    failures INTEGER NOT NULL CHECK (failures > 0),
    first_at TEXT    NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX login_failures_first ON login_failures (first_at);
