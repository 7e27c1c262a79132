-- 003_audit_buckets: the person index of the audit log, in buckets.
--
-- audit_person (person_id, seq) took each audited request's person id at
-- a random place in one large B-tree: with a million persons nearly every
-- row dirtied a page of its own, and the audit writer's commits were the
-- heaviest work of a lookup under load (`make bench`, issue 6).
--
-- Keyed (bucket, person_id, seq) with bucket = seq >> 14, the rows of a
-- batch land in the newest bucket only: some hundred pages, not thousands.
-- GET /v1/audit?person_id= seeks each bucket of its seq range in turn
-- (a log of 100 million rows has ~6,100 buckets), and retention deletes a
-- seq prefix as a bucket prefix, so the separate seq index goes.  The
-- shift, 14, is also in db/db.c (AUDIT_BUCKET_SHIFT).
CREATE TABLE audit_person_b (
	bucket INTEGER NOT NULL,
	person_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	PRIMARY KEY (bucket, person_id, seq)
) WITHOUT ROWID;

INSERT INTO audit_person_b (bucket, person_id, seq)
	SELECT seq >> 14, person_id, seq FROM audit_person;

DROP TABLE audit_person;
ALTER TABLE audit_person_b RENAME TO audit_person;
