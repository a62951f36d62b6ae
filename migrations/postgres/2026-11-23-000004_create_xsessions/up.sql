-- Every xsession issued, so that revocation can find a user's tokens: logout revokes one, a
-- login that removes memberships revokes the user's earlier ones, removing a group revokes its
-- members'. Rows go once the token has expired. Times are epoch seconds.
CREATE TABLE xsessions (
    jti        TEXT   NOT NULL PRIMARY KEY,
    sid        TEXT   NOT NULL,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX xsessions_user_id ON xsessions (user_id);
CREATE INDEX xsessions_expires_at ON xsessions (expires_at);

-- `users list` and `users show` look up the last logins by name.
CREATE INDEX login_audit_login_name ON login_audit (login_name);
