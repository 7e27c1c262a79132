/* stmt.c - the SQL of every statement of the PostgreSQL store, by its
 * enum dbpg_stmt (db/pg/pg.h).  $n are the values dbpg_exec is given, as
 * text.  Text keys compare with COLLATE "C" (the schema says so), so that
 * keyset pagination orders as SQLite's binary comparison does.
 *
 * Blocks by area: wt-pg writes the core, wt-pg2 keys, sessions, audit and
 * import; each edits only its own blocks.  NULL: not written yet. */
#include "db/internal.h"

#define PERSON_COLS                                                            \
	"person_id, facility_id, display_name, birth_date, insurer_number, "   \
	"scheme, mynumber_card, insurance_registration, ecert_expiry, "        \
	"card_expiry, care_needs, setting, legacy_card_expiry, "               \
	"certificate_status, certificate_basis, certificate_applied_on, "      \
	"certificate_valid_until, verified_at, source, etag, updated_at"

#define PERSON_COLS_P                                                          \
	"p.person_id, p.facility_id, p.display_name, p.birth_date, "           \
	"p.insurer_number, p.scheme, p.mynumber_card, "                        \
	"p.insurance_registration, p.ecert_expiry, p.card_expiry, "            \
	"p.care_needs, p.setting, p.legacy_card_expiry, "                      \
	"p.certificate_status, p.certificate_basis, "                          \
	"p.certificate_applied_on, p.certificate_valid_until, "                \
	"p.verified_at, p.source, p.etag, p.updated_at"

#define INSURER_COLS                                                           \
	"insurer_number, name_ja, name_en, scheme, prefecture_code, address, " \
	"phone, url, updated_at"

const char *const dbpg_sql[DBPG_STMT_COUNT] = {
    /* ---- core (wt-pg) */
    [DBPG_STMT_BEGIN] = "BEGIN",
    [DBPG_STMT_BEGIN_READ] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    [DBPG_STMT_COMMIT] = "COMMIT",
    [DBPG_STMT_ROLLBACK] = "ROLLBACK",
    [DBPG_STMT_PING] = "SELECT version FROM schema_migrations ORDER BY "
		       "version DESC LIMIT 1",
    [DBPG_STMT_PERSON_GET] =
	"SELECT " PERSON_COLS " FROM persons WHERE person_id = $1",
    /* A key bound to facility $2: one row, the person's columns (NULL for
	 * another facility's person) and whether the id is stored at all. */
    [DBPG_STMT_PERSON_GET_IN] =
	"SELECT " PERSON_COLS_P ", CASE WHEN p.person_id IS NULL THEN "
	"EXISTS (SELECT 1 FROM persons WHERE person_id = $1) ELSE true END "
	"FROM (SELECT 1) AS one LEFT JOIN persons p ON p.person_id = $1 "
	"AND p.facility_id = $2",
    /* The row a conditional write decides on, locked until its commit:
	 * two replicas' racing If-Match writes go one after the other. */
    [DBPG_STMT_PERSON_GET_LOCK] =
	"SELECT " PERSON_COLS " FROM persons WHERE person_id = $1 "
	"FOR UPDATE",
    /* No row when another transaction inserted the id meanwhile. */
    [DBPG_STMT_PERSON_INSERT] =
	"INSERT INTO persons (" PERSON_COLS ") VALUES ($1, $2, $3, $4, "
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
	"SELECT " PERSON_COLS " FROM persons WHERE person_id > $1 "
	"ORDER BY person_id LIMIT $2",
    [DBPG_STMT_PERSON_LIST_FACILITY] =
	"SELECT " PERSON_COLS " FROM persons WHERE facility_id = $3 "
	"AND person_id > $1 ORDER BY facility_id, person_id LIMIT $2",
    [DBPG_STMT_INSURER_GET] =
	"SELECT " INSURER_COLS " FROM insurers WHERE insurer_number = $1",
    /* xmax = 0: the row was inserted, not updated (created). */
    [DBPG_STMT_INSURER_UPSERT] =
	"INSERT INTO insurers (" INSURER_COLS ") VALUES ($1, $2, $3, $4, "
	"$5, $6, $7, $8, $9) ON CONFLICT (insurer_number) DO UPDATE SET "
	"name_ja = $2, name_en = $3, scheme = $4, prefecture_code = $5, "
	"address = $6, phone = $7, url = $8, updated_at = $9 "
	"RETURNING (xmax = 0)",
    /* SQLite's instr() and lower() (ASCII letters only: COLLATE "C"). */
    [DBPG_STMT_INSURER_SEARCH] =
	"SELECT " INSURER_COLS " FROM insurers WHERE insurer_number > $1 "
	"AND ($3::integer IS NULL OR prefecture_code = $3) AND "
	"($4::text IS NULL OR scheme = $4) AND ($5::text IS NULL OR "
	"strpos(name_ja, $5) > 0 OR strpos(lower(name_en COLLATE \"C\"), "
	"lower($5 COLLATE \"C\")) > 0 OR insurer_number = $5) "
	"ORDER BY insurer_number LIMIT $2",
    [DBPG_STMT_REGISTRY_NOTIFY] =
	"SELECT pg_notify('" DBPG_REGISTRY_CHANNEL "', '')",
    [DBPG_STMT_DB_SIZE] = "SELECT pg_database_size(current_database())",

    /* ---- keys (wt-pg2) */

    /* ---- sessions (wt-pg2) */

    /* ---- audit (wt-pg2) */

    /* ---- import (wt-pg2) */
};
