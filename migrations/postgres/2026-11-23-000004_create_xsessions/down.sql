CREATE INDEX revoked_sessions_expires_at ON revoked_sessions (expires_at);
CREATE INDEX replay_cache_expires_at ON replay_cache (expires_at);
DROP INDEX login_audit_login_name_at;
CREATE INDEX login_audit_at ON login_audit (at);
DROP TABLE xsessions;
