-- Issue 12: login names matched without regard to ASCII case, IdP identifiers on local groups,
-- and the flags of accepted logins whose sync was held or reported something.

-- users.login_key: the login name folded to ASCII lower case, computed by the database so that
-- rows inserted with SQL have it too. lower() under the "C" collation folds ASCII only, exactly
-- what `sync::login_key` does in Rust and SQLite's lower() does (a store test compares them).
-- Not unique: with FEDBRIDGE_LOGIN_NAME_MATCH=exact two spellings may be two users, and rows
-- that an earlier version created for two spellings stay as they are (the login refuses to
-- guess between them).
ALTER TABLE users ADD COLUMN login_key TEXT GENERATED ALWAYS AS (lower(login_name COLLATE "C")) STORED;
CREATE INDEX users_login_key ON users (login_key);

-- The IdP's identifiers of a local group (Azure AD object IDs, SIDs): an IdP value equal to one
-- of them (ASCII case-insensitively: GUIDs and SIDs are) names that group. One identifier names
-- one group.
CREATE TABLE group_idp_ids (
    group_id   BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    idp_id     TEXT   NOT NULL CHECK (idp_id <> '' AND idp_id = trim(idp_id)),
    idp_id_key TEXT   GENERATED ALWAYS AS (lower(idp_id COLLATE "C")) STORED,
    PRIMARY KEY (group_id, idp_id)
);
CREATE UNIQUE INDEX group_idp_ids_key ON group_idp_ids (idp_id_key);

-- Stable codes, comma-separated, of what an accepted login's sync held or reported
-- (groups_attribute_absent, groups_overage, group_removal_limit_exceeded, unknown_groups).
ALTER TABLE login_audit ADD COLUMN flags TEXT NULL;
