-- Managed bearer tokens of the REST API. Only a digest of the secret is stored. Revoked tokens
-- stay (the audit log names them); a name is unique among the tokens not revoked.

CREATE TABLE api_tokens (
    id           TEXT NOT NULL PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'readonly')),
    digest       TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL DEFAULT '',
    expires_at   TEXT,
    last_used_at TEXT,
    revoked_at   TEXT
) STRICT, WITHOUT ROWID;

CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (name) WHERE revoked_at IS NULL;
