DROP TABLE node_status;
DROP TRIGGER configurationentity_changed ON CONFIGURATIONENTITY;
DROP FUNCTION bump_config_version();
DROP TABLE config_version;
ALTER TABLE login_audit DROP COLUMN count;
ALTER TABLE login_audit DROP COLUMN client;
ALTER TABLE outstanding_requests DROP COLUMN browser_binding;
