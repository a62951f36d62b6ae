-- Issue 11, safe at the edge (see the SQLite migration of the same name for the why).
ALTER TABLE outstanding_requests ADD COLUMN browser_binding TEXT NULL;

ALTER TABLE login_audit ADD COLUMN client TEXT NULL;
ALTER TABLE login_audit ADD COLUMN count BIGINT NOT NULL DEFAULT 1;

CREATE TABLE config_version (
    id      BIGINT NOT NULL PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO config_version (id, version) VALUES (1, 0);
-- CONFIGURATIONENTITY was created unquoted: its name is folded to lower case.
CREATE FUNCTION bump_config_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER configurationentity_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON CONFIGURATIONENTITY
    FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();

CREATE TABLE node_status (
    node_id        TEXT   NOT NULL PRIMARY KEY,
    started_at     BIGINT NOT NULL,
    seen_at        BIGINT NOT NULL,
    config_version BIGINT NOT NULL,
    version        TEXT   NOT NULL
);
