-- 001_audit: the audit log in a file of its own, FILE-audit beside the
-- database FILE (SPEC §7): written only by the audit writer thread, read
-- by GET /v1/audit.  Its commits no longer reset the page caches of the
-- readers of the person store, and no writer of the database (an import
-- holding its write lock for minutes) can hold the audit writer up.
--
-- The tables are those the database had (its migrations 002 and 003); a
-- database of an older version has its rows moved here by db/db.c before
-- its own migration 004_audit_own_file drops them there.

-- One row per request that names stored persons.  Never a fact: only who
-- (key), which request, what route (the template, never the raw path),
-- whom (person ids, space-separated) and the status.  time is
-- "YYYY-MM-DDTHH:MM:SS.mmm+09:00"; the single writer stamps rows in queue
-- order, so time never decreases as seq grows and a time range is a seq
-- range.
CREATE TABLE audit (
	seq INTEGER PRIMARY KEY,
	time TEXT NOT NULL,
	key_id TEXT,
	request_id TEXT NOT NULL,
	method TEXT NOT NULL,
	route TEXT NOT NULL,
	person_ids TEXT NOT NULL,
	status INTEGER NOT NULL
);

CREATE INDEX audit_by_time ON audit (time);
CREATE INDEX audit_by_key ON audit (key_id);

-- Who was named by which row, keyed (bucket, person_id, seq) with bucket =
-- seq >> 14 (DB_AUDIT_BUCKET_SHIFT in db/internal.h): a batch of rows
-- lands in the newest bucket only, GET /v1/audit?person_id= seeks each
-- bucket of its seq range in turn, retention deletes a bucket prefix.
CREATE TABLE audit_person (
	bucket INTEGER NOT NULL,
	person_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	PRIMARY KEY (bucket, person_id, seq)
) WITHOUT ROWID;

-- The rows of the database's own audit table were copied here (once, in
-- the transaction that wrote this row): a move interrupted after that
-- copy only drops them from the database when it runs again, it never
-- copies them twice.
CREATE TABLE audit_moved_in (
	moved_at TEXT NOT NULL,
	rows INTEGER NOT NULL
);
