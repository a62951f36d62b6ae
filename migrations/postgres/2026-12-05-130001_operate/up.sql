-- Operating fedbridge (admin console, test login, metrics). Times are epoch seconds.
--
-- login_audit: what an administrator asks about a login. dry_run marks the rows of test logins
-- started from the admin console (nothing else was written); clock_offset is the IdP's clock
-- minus ours in seconds (from the signed IssueInstant); attributes is a JSON array of the
-- attributes that arrived (names; values only for the mapped ones); changes is a JSON object of
-- what the sync changed (or, for a test, would change).
ALTER TABLE login_audit ADD COLUMN dry_run BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE login_audit ADD COLUMN clock_offset BIGINT NULL;
ALTER TABLE login_audit ADD COLUMN attributes TEXT NULL;
ALTER TABLE login_audit ADD COLUMN changes TEXT NULL;

-- Why a request was sent: 'login' (a person signing in), 'admin' (signing in to the admin
-- console: the answer also opens an admin session) or 'test' (a dry run: the answer is shown,
-- not applied).
ALTER TABLE outstanding_requests ADD COLUMN purpose TEXT NOT NULL DEFAULT 'login';

-- Sessions of the admin console: its cookie holds a secret that is never handed to downstream
-- applications (unlike the xsession); the row keeps its SHA-256 and the xsession of the
-- sign-in, so a revoked xsession ends the admin session too.
CREATE TABLE admin_sessions (
    secret_hash TEXT   NOT NULL PRIMARY KEY,
    jti         TEXT   NOT NULL,
    login_name  TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
