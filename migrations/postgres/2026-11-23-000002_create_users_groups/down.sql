DROP TABLE memberships;
DROP TABLE groups;
DROP TABLE users;
