-- Console sessions (signed-in browsers). The primary key is the SHA-256 of the random id the
-- cookie holds; the id itself is never stored. A session goes with its user.
CREATE TABLE console_sessions (
    id_hash       TEXT NOT NULL PRIMARY KEY CHECK (length(id_hash) = 64),
    email         TEXT NOT NULL REFERENCES users (email) ON DELETE CASCADE ON UPDATE CASCADE,
    csrf          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    flash_message TEXT NOT NULL DEFAULT '',
    flash_error   INTEGER NOT NULL DEFAULT 0 CHECK (flash_error IN (0, 1))
) STRICT, WITHOUT ROWID;

CREATE INDEX console_sessions_email ON console_sessions (email);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);
CREATE INDEX console_sessions_last_seen ON console_sessions (last_seen_at);
