-- Issue 11, safe at the edge.
-- The browser a login was started in: the SHA-256 (hex) of the secret in its login cookie, so
-- that only that browser can complete the login (login CSRF). NULL: a request remembered before
-- this migration, refused (fail closed).
ALTER TABLE outstanding_requests ADD COLUMN browser_binding TEXT NULL;

-- Who sent a refused request (an IP address, or an IPv6 /64), and how many identical refusals
-- one row stands for: refusals that carry no SAML message are counted per minute, client and
-- reason instead of written one row each.
ALTER TABLE login_audit ADD COLUMN client TEXT NULL;
ALTER TABLE login_audit ADD COLUMN count BIGINT NOT NULL DEFAULT 1;

-- A counter that every change of CONFIGURATIONENTITY raises (fedbridge config, the installer,
-- plain SQL alike): servers read the rows again when it moved, and report the version they
-- hold in node_status, so that `config set` can say when its change is in service.
CREATE TABLE config_version (
    id      BIGINT NOT NULL PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO config_version (id, version) VALUES (1, 0);
CREATE TRIGGER configurationentity_inserted AFTER INSERT ON CONFIGURATIONENTITY
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER configurationentity_updated AFTER UPDATE ON CONFIGURATIONENTITY
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER configurationentity_deleted AFTER DELETE ON CONFIGURATIONENTITY
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1;
END;

-- Every running server, written by its write probe every 2 s: when it started, when it last
-- wrote, the configuration version it has taken in. Rows unseen for a day are purged.
CREATE TABLE node_status (
    node_id        TEXT   NOT NULL PRIMARY KEY,
    started_at     BIGINT NOT NULL,
    seen_at        BIGINT NOT NULL,
    config_version BIGINT NOT NULL,
    version        TEXT   NOT NULL
) WITHOUT ROWID;
