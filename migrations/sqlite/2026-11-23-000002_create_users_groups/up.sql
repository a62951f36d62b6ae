-- Users, groups and memberships, written by the login sync (SPEC section 6) in one transaction.
-- Times are epoch seconds (BIGINT) on every backend.
CREATE TABLE users (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    login_name          TEXT    NOT NULL UNIQUE,
    external_id         TEXT    NULL UNIQUE,
    full_name           TEXT    NULL,
    email               TEXT    NULL,
    description         TEXT    NULL,
    inherit_licences    BOOLEAN NOT NULL DEFAULT 1 CHECK (inherit_licences IN (0, 1)),
    inherit_permissions BOOLEAN NOT NULL DEFAULT 1 CHECK (inherit_permissions IN (0, 1)),
    disabled            BOOLEAN NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL
);

CREATE TABLE groups (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT    NOT NULL UNIQUE
);

CREATE TABLE memberships (
    user_id   BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id  BIGINT  NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    federated BOOLEAN NOT NULL DEFAULT 0 CHECK (federated IN (0, 1)),
    PRIMARY KEY (user_id, group_id)
);

CREATE INDEX memberships_group_id ON memberships (group_id);
