-- 002_security: API keys (hashed) and the audit log (SPEC §7, §8).

-- A key is "shk_<id>_<secret>".  Only SHA-256 of the secret is kept: a
-- copy of this file lets nobody call the API.  The id is public (it is in
-- `key list` and in every audit row), so it is the primary key and each
-- request costs one point lookup.
CREATE TABLE api_keys (
	id TEXT PRIMARY KEY NOT NULL,
	hash BLOB NOT NULL CHECK (length(hash) = 32),
	role TEXT NOT NULL CHECK (role IN ('reader', 'writer', 'admin')),
	facility_id TEXT,
	name TEXT,
	created_at TEXT NOT NULL,
	revoked_at TEXT
) WITHOUT ROWID;

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

-- Who was named by which row, for GET /v1/audit?person_id=: an index seek
-- and a walk in seq order, where instr()/LIKE on audit.person_ids would
-- read the whole log (every GET of a person adds a row).  The seq index
-- lets retention delete by seq range.
CREATE TABLE audit_person (
	person_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	PRIMARY KEY (person_id, seq)
) WITHOUT ROWID;

CREATE INDEX audit_person_by_seq ON audit_person (seq);
