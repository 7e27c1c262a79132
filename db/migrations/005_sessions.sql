-- 005_sessions: the facility page's browser sessions (SPEC §8, §11).
-- Like a key, a session token is kept only as SHA-256: a copy of this file
-- signs nobody in.  The session takes its role and facility from its key at
-- each request (a join), so a revoked key ends its sessions at once.  The
-- CSRF token is not a credential on its own (it is useless without the
-- cookie), and the page must be able to ask for it again.
CREATE TABLE sessions (
	hash BLOB PRIMARY KEY NOT NULL CHECK (length(hash) = 32),
	key_id TEXT NOT NULL,
	csrf TEXT NOT NULL,
	created_at REAL NOT NULL,
	last_seen REAL NOT NULL
) WITHOUT ROWID;

CREATE INDEX sessions_by_key ON sessions (key_id);
