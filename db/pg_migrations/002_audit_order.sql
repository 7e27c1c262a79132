-- 002_audit_order (wt-pg2): the audit log of many replicas.
--
-- Each replica's audit writer inserts its batch in one statement that first
-- takes its seq numbers from this one-row counter (UPDATE ... RETURNING):
-- the row lock is held until the batch commits, so the replicas' batches
-- commit one after the other in seq order, and a reader never sees a row
-- before a row of lower seq that is still to commit.  That is what keeps a
-- GET /v1/audit cursor (seq > n) from skipping a row, whichever replica
-- wrote it.  "last" is the highest seq handed out.
CREATE TABLE audit_counter (
	one boolean PRIMARY KEY DEFAULT true CHECK (one),
	last bigint NOT NULL
);
INSERT INTO audit_counter (one, last)
	SELECT true, coalesce(max(seq), 0) FROM audit;

-- GET /v1/audit?person_id=: a person's rows in seq order, one index seek.
CREATE INDEX audit_person_by_person ON audit_person (person_id, seq);
