DROP TABLE node_status;
DROP TRIGGER configurationentity_deleted;
DROP TRIGGER configurationentity_updated;
DROP TRIGGER configurationentity_inserted;
DROP TABLE config_version;
ALTER TABLE login_audit DROP COLUMN count;
ALTER TABLE login_audit DROP COLUMN client;
ALTER TABLE outstanding_requests DROP COLUMN browser_binding;
