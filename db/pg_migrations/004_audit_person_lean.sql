-- 004_audit_person_lean (pg-perf): one index fewer for each audited person.
--
-- Every audited lookup inserts one audit_person row, and each of its
-- btree indexes costs an insertion at a random place (person_id is
-- random): the primary key (bucket, person_id, seq) served no query here
-- (GET /v1/audit?person_id= reads audit_person_by_person; the retention
-- deletes by seq), and the writer's batch cost the server about 25 % more
-- CPU with it (21-23 against 15-19 us a row, measured on one backend).
-- Its uniqueness was the writer's own guarantee already (one row per
-- distinct id of an audit row, its seq fresh from audit_counter).  The
-- retention finds a deleted audit row's audit_person rows through a BRIN
-- index on seq: rows go in in seq order, so its block ranges are tight,
-- and it costs next to nothing to keep.
ALTER TABLE audit_person DROP CONSTRAINT audit_person_pkey;
CREATE INDEX audit_person_by_seq ON audit_person USING brin (seq);
