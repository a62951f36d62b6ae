-- What the login flow and the xsession need, shared by every node: signing keys, outstanding
-- AuthnRequests, the replay cache, revoked xsessions, the login audit and the last good copy of
-- the IdP metadata. Times are epoch seconds (BIGINT) on every backend.
CREATE TABLE signing_keys (
    kid         TEXT   NOT NULL PRIMARY KEY,
    algorithm   TEXT   NOT NULL,
    private_pem TEXT   NOT NULL,
    public_pem  TEXT   NOT NULL,
    public_jwk  TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    retired_at  BIGINT NULL
);

CREATE TABLE outstanding_requests (
    request_id   TEXT   NOT NULL PRIMARY KEY,
    relay_handle TEXT   NOT NULL UNIQUE,
    target       TEXT   NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX outstanding_requests_expires_at ON outstanding_requests (expires_at);

-- An insert that violates the primary key is a replay (on every backend).
CREATE TABLE replay_cache (
    assertion_id TEXT   NOT NULL PRIMARY KEY,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX replay_cache_expires_at ON replay_cache (expires_at);

CREATE TABLE revoked_sessions (
    jti        TEXT   NOT NULL PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_sessions_expires_at ON revoked_sessions (expires_at);

CREATE TABLE login_audit (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at             BIGINT  NOT NULL,
    outcome        TEXT    NOT NULL,
    reason_code    TEXT    NULL,
    detail         TEXT    NULL,
    idp            TEXT    NULL,
    login_name     TEXT    NULL,
    correlation_id TEXT    NULL
);
CREATE INDEX login_audit_at ON login_audit (at);

CREATE TABLE idp_metadata_cache (
    url        TEXT   NOT NULL PRIMARY KEY,
    body       TEXT   NOT NULL,
    fetched_at BIGINT NOT NULL
);
