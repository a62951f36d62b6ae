-- The settings, one row per key, as QPR keeps them. Administrators edit this table with SQL, so
-- the names are QPR's: CONFIGURATIONENTITY (NAME, VALUE). VALUE NULL and "no row" are different
-- (config-schema/README.md). The store never interprets values; src/config does.
CREATE TABLE CONFIGURATIONENTITY (
    NAME  TEXT NOT NULL PRIMARY KEY CHECK (NAME <> '' AND NAME = TRIM(NAME)),
    VALUE TEXT NULL
);
