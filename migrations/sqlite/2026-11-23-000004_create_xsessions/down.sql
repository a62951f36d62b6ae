CREATE TABLE revoked_sessions_rowid (
    jti        TEXT   NOT NULL PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
INSERT INTO revoked_sessions_rowid SELECT jti, expires_at FROM revoked_sessions;
DROP TABLE revoked_sessions;
ALTER TABLE revoked_sessions_rowid RENAME TO revoked_sessions;
CREATE INDEX revoked_sessions_expires_at ON revoked_sessions (expires_at);
CREATE TABLE replay_cache_rowid (
    assertion_id TEXT   NOT NULL PRIMARY KEY,
    expires_at   BIGINT NOT NULL
);
INSERT INTO replay_cache_rowid SELECT assertion_id, expires_at FROM replay_cache;
DROP TABLE replay_cache;
ALTER TABLE replay_cache_rowid RENAME TO replay_cache;
CREATE INDEX replay_cache_expires_at ON replay_cache (expires_at);
DROP INDEX login_audit_login_name_at;
CREATE INDEX login_audit_at ON login_audit (at);
DROP TABLE xsessions;
