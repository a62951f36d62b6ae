DROP TABLE idp_metadata_cache;
DROP TABLE login_audit;
DROP TABLE revoked_sessions;
DROP TABLE replay_cache;
DROP TABLE outstanding_requests;
DROP TABLE signing_keys;
