DROP TABLE admin_sessions;
ALTER TABLE outstanding_requests DROP COLUMN purpose;
ALTER TABLE login_audit DROP COLUMN changes;
ALTER TABLE login_audit DROP COLUMN attributes;
ALTER TABLE login_audit DROP COLUMN clock_offset;
ALTER TABLE login_audit DROP COLUMN dry_run;
