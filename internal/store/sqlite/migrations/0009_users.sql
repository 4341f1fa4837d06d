-- Console users (operators who sign in to the web console). The email is stored normalized
-- (lower case), so that the primary key is the identity.
CREATE TABLE users (
    email         TEXT NOT NULL PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'readonly')),
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) STRICT, WITHOUT ROWID;
