DROP INDEX login_audit_login_name;
DROP TABLE xsessions;
