-- 004_audit_absent: ids that exist nowhere are counted, not listed.
--
-- Every id a request named used to become its own text in audit.person_ids
-- and its own row in audit_person, stored or not: four clients posting
-- batches of 1,000 made-up 64-character ids grew the database by 243 MiB
-- in 10 s (issue 12).  An id stored under no facility names nobody (SPEC
-- §8 audits stored persons), so a row now keeps only how many such ids
-- its request named; the stored ones are listed and indexed as before.
ALTER TABLE audit ADD COLUMN absent_ids INTEGER NOT NULL DEFAULT 0;
