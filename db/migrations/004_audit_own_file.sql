-- 004_audit_own_file: the audit log leaves this file for FILE-audit beside
-- it (db/audit_migrations/).  db/db.c copies the rows of these tables into
-- that file, in one of its transactions marked by a row of its
-- audit_moved_in, before this migration runs: a crash between the two
-- leaves the rows in both files, and the next start only drops them here.
DROP TABLE IF EXISTS audit_person;
DROP TABLE IF EXISTS audit;
