-- 006_person_changes: the log of person writes, for each process's person
-- cache (db/person_cache.h).  Each write of a person adds a row naming it
-- in the same transaction (an import's transaction: one row with a NULL
-- person_id, "every person"); a process that sees another's commit (the
-- WAL index's change counter) reads the rows after the last one it read
-- and drops only those persons, or all of them when the log cannot tell
-- (its row trimmed away, too many rows, a NULL).  Writers trim it to its
-- newest few thousand rows.  Nothing else reads it; it holds no facts.
CREATE TABLE person_changes (
	seq INTEGER PRIMARY KEY,
	person_id TEXT
);
