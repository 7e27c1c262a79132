/* stmt.c - the SQL of every statement of the PostgreSQL store, by its
 * enum dbpg_stmt (db/pg/pg.h).  $n are the values dbpg_exec is given, as
 * text.  Text keys compare with COLLATE "C" (the schema says so), so that
 * keyset pagination orders as SQLite's binary comparison does.
 *
 * Blocks by area: wt-pg writes the core, wt-pg2 keys, sessions, audit and
 * import; each edits only its own blocks.  NULL: not written yet. */
#include "db/columns.h"
#include "db/internal.h"

const char *const dbpg_sql[DBPG_STMT_COUNT] = {
    /* ---- core (wt-pg) */
    [DBPG_STMT_BEGIN] = "BEGIN",
    [DBPG_STMT_BEGIN_READ] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    [DBPG_STMT_COMMIT] = "COMMIT",
    [DBPG_STMT_ROLLBACK] = "ROLLBACK",
    [DBPG_STMT_PING] = "SELECT version FROM schema_migrations ORDER BY "
		       "version DESC LIMIT 1",
    [DBPG_STMT_PERSON_GET] =
	"SELECT " DB_PERSON_COLS " FROM persons WHERE person_id = $1",
    /* A key bound to facility $2: one row, the person's columns (NULL for
	 * another facility's person) and whether the id is stored at all. */
    [DBPG_STMT_PERSON_GET_IN] =
	"SELECT " DB_PERSON_COLS_P ", CASE WHEN p.person_id IS NULL THEN "
	"EXISTS (SELECT 1 FROM persons WHERE person_id = $1) ELSE true END "
	"FROM (SELECT 1) AS one LEFT JOIN persons p ON p.person_id = $1 "
	"AND p.facility_id = $2",
    /* The row a conditional write decides on, locked until its commit:
	 * two replicas' racing If-Match writes go one after the other. */
    [DBPG_STMT_PERSON_GET_LOCK] =
	"SELECT " DB_PERSON_COLS " FROM persons WHERE person_id = $1 "
	"FOR UPDATE",
    /* No row when another transaction inserted the id meanwhile. */
    [DBPG_STMT_PERSON_INSERT] =
	"INSERT INTO persons (" DB_PERSON_COLS ") VALUES ($1, $2, $3, $4, "
	"$5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, "
	"$18, $19, $20, $21) ON CONFLICT (person_id) DO NOTHING",
    [DBPG_STMT_PERSON_UPDATE] =
	"UPDATE persons SET facility_id = $2, display_name = $3, "
	"birth_date = $4, insurer_number = $5, scheme = $6, "
	"mynumber_card = $7, insurance_registration = $8, ecert_expiry = "
	"$9, card_expiry = $10, care_needs = $11, setting = $12, "
	"legacy_card_expiry = $13, certificate_status = $14, "
	"certificate_basis = $15, certificate_applied_on = $16, "
	"certificate_valid_until = $17, verified_at = $18, source = $19, "
	"etag = $20, updated_at = $21 WHERE person_id = $1",
    [DBPG_STMT_PERSON_DELETE] = "DELETE FROM persons WHERE person_id = $1",
    [DBPG_STMT_PERSON_LIST] =
	"SELECT " DB_PERSON_COLS " FROM persons WHERE person_id > $1 "
	"ORDER BY person_id LIMIT $2",
    [DBPG_STMT_PERSON_LIST_FACILITY] =
	"SELECT " DB_PERSON_COLS " FROM persons WHERE facility_id = $3 "
	"AND person_id > $1 ORDER BY facility_id, person_id LIMIT $2",
    [DBPG_STMT_INSURER_GET] =
	"SELECT " DB_INSURER_COLS " FROM insurers WHERE insurer_number = $1",
    /* xmax = 0: the row was inserted, not updated (created). */
    [DBPG_STMT_INSURER_UPSERT] =
	"INSERT INTO insurers (" DB_INSURER_COLS ") VALUES ($1, $2, $3, $4, "
	"$5, $6, $7, $8, $9) ON CONFLICT (insurer_number) DO UPDATE SET "
	"name_ja = $2, name_en = $3, scheme = $4, prefecture_code = $5, "
	"address = $6, phone = $7, url = $8, updated_at = $9 "
	"RETURNING (xmax = 0)",
    /* SQLite's instr() and lower() (ASCII letters only: COLLATE "C"). */
    [DBPG_STMT_INSURER_SEARCH] =
	"SELECT " DB_INSURER_COLS " FROM insurers WHERE insurer_number > $1 "
	"AND ($3::integer IS NULL OR prefecture_code = $3) AND "
	"($4::text IS NULL OR scheme = $4) AND ($5::text IS NULL OR "
	"strpos(name_ja, $5) > 0 OR strpos(lower(name_en COLLATE \"C\"), "
	"lower($5 COLLATE \"C\")) > 0 OR insurer_number = $5) "
	"ORDER BY insurer_number LIMIT $2",
    [DBPG_STMT_REGISTRY_NOTIFY] =
	"SELECT pg_notify('" DBPG_REGISTRY_CHANNEL "', '')",
    [DBPG_STMT_DB_SIZE] = "SELECT pg_database_size(current_database())",

    /* ---- keys (wt-pg2) */
    [DBPG_STMT_KEY_INSERT] =
	"INSERT INTO api_keys (id, hash, role, facility_id, name, "
	"created_at) VALUES ($1, $2, $3, $4, $5, $6) "
	"ON CONFLICT (id) DO NOTHING",
    [DBPG_STMT_KEY_GET] = "SELECT " DB_KEY_COLS ", hash FROM api_keys "
			  "WHERE id = $1",
    [DBPG_STMT_KEY_LIST] = "SELECT " DB_KEY_COLS " FROM api_keys "
			   "ORDER BY created_at, id",
    [DBPG_STMT_KEY_REVOKE] =
	"UPDATE api_keys SET revoked_at = coalesce(revoked_at, $2) "
	"WHERE id = $1 RETURNING " DB_KEY_COLS,

    /* ---- sessions (wt-pg2) */
    [DBPG_STMT_SESSION_EXPIRE] =
	"DELETE FROM sessions WHERE last_seen < $1 OR created_at < $2",
    [DBPG_STMT_SESSION_INSERT] =
	"INSERT INTO sessions (hash, key_id, csrf, created_at, last_seen) "
	"VALUES ($1, $2, $3, $4, $4)",
    /* The key's role and facility now: a revoked key's finds nothing. */
    [DBPG_STMT_SESSION_GET] =
	"SELECT s.key_id, k.role, k.facility_id, s.csrf, s.created_at, "
	"s.last_seen FROM sessions s JOIN api_keys k ON k.id = s.key_id "
	"WHERE s.hash = $1 AND k.revoked_at IS NULL",
    [DBPG_STMT_SESSION_TOUCH] =
	"UPDATE sessions SET last_seen = $2 WHERE hash = $1",
    [DBPG_STMT_SESSION_DELETE] = "DELETE FROM sessions WHERE hash = $1",

    /* ---- audit (wt-pg2) */
    /* A batch in one statement: $1 rows take the seqs after the counter's
	 * (its row lock orders the replicas' batches: seq order is commit
	 * order), their values come as arrays $2..$9, the audit_person rows
	 * as ($10 id, $11 row of the batch). */
    [DBPG_STMT_AUDIT_INSERT] =
	"WITH base AS (UPDATE audit_counter SET last = last + $1::bigint "
	"RETURNING last - $1::bigint AS b), ins AS (INSERT INTO audit "
	"(seq, time, key_id, request_id, method, route, person_ids, status, "
	"absent_ids) SELECT base.b + u.ord, u.t, u.k, u.r, u.m, u.ro, u.p, "
	"u.s, u.a FROM base, unnest($2::text[], $3::text[], $4::text[], "
	"$5::text[], $6::text[], $7::text[], $8::integer[], $9::integer[]) "
	"WITH ORDINALITY AS u(t, k, r, m, ro, p, s, a, ord)) "
	"INSERT INTO audit_person (bucket, person_id, seq) "
	"SELECT (base.b + v.n) >> 14, v.id, base.b + v.n "
	"FROM base, unnest($10::text[], $11::bigint[]) AS v(id, n)",
    [DBPG_STMT_AUDIT_QUERY] =
	"SELECT " DB_AUDIT_COLS " FROM audit WHERE seq > $1 AND time >= $2 "
	"AND time < $3 ORDER BY seq LIMIT $4",
    [DBPG_STMT_AUDIT_QUERY_KEY] =
	"SELECT " DB_AUDIT_COLS " FROM audit WHERE seq > $1 AND time >= $2 "
	"AND time < $3 AND key_id = $5 AND $6::text IS NULL "
	"ORDER BY seq LIMIT $4",
    [DBPG_STMT_AUDIT_QUERY_PERSON] =
	"SELECT " DB_AUDIT_COLS_A " FROM audit_person p JOIN audit a "
	"ON a.seq = p.seq WHERE p.person_id = $6 AND p.seq > $1 "
	"AND a.time >= $2 AND a.time < $3 AND ($5::text IS NULL OR "
	"a.key_id = $5) ORDER BY p.seq LIMIT $4",
    /* $2 of the oldest rows before $1, with their audit_person rows
	 * (found by the BRIN index on seq: the range of the rows gone, then
	 * the rows gone themselves); answers how many went. */
    [DBPG_STMT_AUDIT_EXPIRE] =
	"WITH gone AS (DELETE FROM audit WHERE seq IN (SELECT seq FROM "
	"audit WHERE time < $1 ORDER BY seq LIMIT $2) RETURNING seq), "
	"gp AS (DELETE FROM audit_person ap WHERE ap.seq >= (SELECT min(seq) "
	"FROM gone) AND ap.seq <= (SELECT max(seq) FROM gone) AND ap.seq IN "
	"(SELECT seq FROM gone)) SELECT count(*) FROM gone",
    [DBPG_STMT_AUDIT_BYTES] = "SELECT pg_total_relation_size('audit') + "
			      "pg_total_relation_size('audit_person')",

    /* ---- import (wt-pg2) */
    /* The batch's rows (db/pg/import.c); the connection's own (an
	 * import's connection of its own), emptied for each batch. */
    [DBPG_STMT_IMPORT_TABLE] =
	"CREATE TEMPORARY TABLE IF NOT EXISTS import_persons (LIKE persons)",
    [DBPG_STMT_IMPORT_TRUNCATE] = "TRUNCATE import_persons",
    [DBPG_STMT_IMPORT_COPY] =
	"COPY import_persons (" DB_PERSON_COLS ") FROM STDIN",
    /* An identical record (the same etag) is left alone, updated_at
	 * included; xmax = 0: the row was inserted, not updated.  Answers
	 * (inserted, updated). */
    [DBPG_STMT_IMPORT_UPSERT] =
	"WITH up AS (INSERT INTO persons (" DB_PERSON_COLS
	") SELECT " DB_PERSON_COLS
	" FROM import_persons ON CONFLICT (person_id) DO UPDATE "
	"SET facility_id = EXCLUDED.facility_id, display_name = "
	"EXCLUDED.display_name, birth_date = EXCLUDED.birth_date, "
	"insurer_number = EXCLUDED.insurer_number, scheme = EXCLUDED.scheme, "
	"mynumber_card = EXCLUDED.mynumber_card, insurance_registration = "
	"EXCLUDED.insurance_registration, ecert_expiry = "
	"EXCLUDED.ecert_expiry, card_expiry = EXCLUDED.card_expiry, "
	"care_needs = EXCLUDED.care_needs, setting = EXCLUDED.setting, "
	"legacy_card_expiry = EXCLUDED.legacy_card_expiry, "
	"certificate_status = EXCLUDED.certificate_status, "
	"certificate_basis = EXCLUDED.certificate_basis, "
	"certificate_applied_on = EXCLUDED.certificate_applied_on, "
	"certificate_valid_until = EXCLUDED.certificate_valid_until, "
	"verified_at = EXCLUDED.verified_at, source = EXCLUDED.source, "
	"etag = EXCLUDED.etag, updated_at = EXCLUDED.updated_at "
	"WHERE persons.etag IS DISTINCT FROM EXCLUDED.etag "
	"RETURNING (xmax = 0) AS inserted) SELECT count(*) FILTER (WHERE "
	"inserted), count(*) FILTER (WHERE NOT inserted) FROM up",
};
