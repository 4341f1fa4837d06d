-- Managed bearer tokens of the REST API: the SQLite store's 0004 in PostgreSQL's dialect.

CREATE TABLE api_tokens (
    id           text COLLATE "C" NOT NULL PRIMARY KEY,
    name         text        NOT NULL,
    role         text        NOT NULL CHECK (role IN ('admin', 'operator', 'readonly')),
    digest       text        NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    created_by   text        NOT NULL DEFAULT '',
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (name) WHERE revoked_at IS NULL;
