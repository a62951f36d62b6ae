-- PostgreSQL only (page fill factor of users); SQLite has no such setting.
SELECT 1;
