-- Console users (operators who sign in to the web console). The email is stored normalized
-- (lower case), so that the primary key is the identity.
CREATE TABLE users (
    email         text COLLATE "C" NOT NULL PRIMARY KEY,
    password_hash text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('admin', 'operator', 'readonly')),
    disabled      boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
