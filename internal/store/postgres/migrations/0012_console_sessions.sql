-- Console sessions: the SQLite store's 0012 in PostgreSQL's dialect. The primary key is the
-- SHA-256 of the random id the cookie holds; the id itself is never stored.
CREATE TABLE console_sessions (
    id_hash       text COLLATE "C" NOT NULL PRIMARY KEY CHECK (length(id_hash) = 64),
    email         text COLLATE "C" NOT NULL REFERENCES users (email) ON DELETE CASCADE ON UPDATE CASCADE,
    csrf          text        NOT NULL,
    created_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    flash_message text        NOT NULL DEFAULT '',
    flash_error   boolean     NOT NULL DEFAULT false
);

CREATE INDEX console_sessions_email ON console_sessions (email);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);
CREATE INDEX console_sessions_last_seen ON console_sessions (last_seen_at);
