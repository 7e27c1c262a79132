-- 003_person_notify: every committed change of persons is told on the
-- channel shikaku_persons (LISTEN/NOTIFY), for each process's person cache
-- (db/person_cache.h): the payload is the person_id written, or '*' when
-- one statement wrote more than 100 persons (an import's batch: every
-- cached person is dropped).  Statement triggers with transition tables,
-- so that whoever writes (this service, an import, psql) is heard, and a
-- notification is sent at the commit only (NOTIFY is transactional).

CREATE FUNCTION shikaku_persons_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF (SELECT count(*) FROM changed) > 100 THEN
		PERFORM pg_notify('shikaku_persons', '*');
	ELSE
		PERFORM pg_notify('shikaku_persons', person_id) FROM changed;
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER persons_notify_insert AFTER INSERT ON persons
	REFERENCING NEW TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION shikaku_persons_notify();
CREATE TRIGGER persons_notify_update AFTER UPDATE ON persons
	REFERENCING NEW TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION shikaku_persons_notify();
CREATE TRIGGER persons_notify_delete AFTER DELETE ON persons
	REFERENCING OLD TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION shikaku_persons_notify();
