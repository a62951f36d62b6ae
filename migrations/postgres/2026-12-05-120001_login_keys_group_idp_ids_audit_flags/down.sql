ALTER TABLE login_audit DROP COLUMN flags;
DROP TABLE group_idp_ids;
DROP INDEX users_login_key;
ALTER TABLE users DROP COLUMN login_key;
