-- Every login writes its user's row (its new version tells a login planned without a lock that
-- the user changed meanwhile): room on each page keeps those updates on the page (HOT), with no
-- new index entries. Rows written from now on get it; older pages as they are rewritten.
ALTER TABLE users SET (fillfactor = 80);
