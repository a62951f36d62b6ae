-- Every xsession issued, so that revocation can find a user's tokens: logout revokes one, a
-- login that removes memberships revokes the user's earlier ones, removing a group revokes its
-- members'. Rows go once the token has expired (the purge scans the table once a minute, so
-- there is no index on expires_at: every index is one more page written by every login).
-- Times are epoch seconds.
CREATE TABLE xsessions (
    jti        TEXT   NOT NULL PRIMARY KEY,
    sid        TEXT   NOT NULL,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX xsessions_user_id ON xsessions (user_id);

-- `users list` and `users show` look up the latest logins by name. Time ranges of the audit
-- trail follow its id (rows are appended in time order), so the index on `at` goes: one page
-- less to write per login. Likewise the replay cache is purged by a scan once a minute.
DROP INDEX login_audit_at;
CREATE INDEX login_audit_login_name_at ON login_audit (login_name, at);
DROP INDEX replay_cache_expires_at;
DROP INDEX revoked_sessions_expires_at;
