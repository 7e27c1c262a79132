/* columns.h - the columns of the tables both stores have, in the one order
 * both stores' statements select and bind them: the SQL lists (persons,
 * insurers, api_keys, audit) and the person and insurer columns'
 * positions.  The
 * migrations (db/migrations/, db/pg_migrations/) own the tables. */
#ifndef SHIKAKU_DB_COLUMNS_H
#define SHIKAKU_DB_COLUMNS_H

/* The person columns as X(name): their positions (enum db_person_col)
 * follow DB_PERSON_COLS. */
#define DB_PERSON_COLUMNS(X)                                                   \
	X(ID)                                                                  \
	X(FACILITY)                                                            \
	X(NAME)                                                                \
	X(BIRTH)                                                               \
	X(INSURER)                                                             \
	X(SCHEME)                                                              \
	X(CARD)                                                                \
	X(REG)                                                                 \
	X(ECERT)                                                               \
	X(CARD_EXPIRY)                                                         \
	X(NEEDS)                                                               \
	X(SETTING)                                                             \
	X(LEGACY)                                                              \
	X(CERT_STATUS)                                                         \
	X(CERT_BASIS)                                                          \
	X(CERT_APPLIED)                                                        \
	X(CERT_VALID)                                                          \
	X(VERIFIED)                                                            \
	X(SOURCE)                                                              \
	X(ETAG)                                                                \
	X(UPDATED)

#define DB_PERSON_COL_ENUM(name) DB_PCOL_##name,
/* A person column's position from 0 (SQLite binds it at 1 more). */
enum db_person_col { DB_PERSON_COLUMNS(DB_PERSON_COL_ENUM) DB_PERSON_NCOLS };

#define DB_PERSON_COLS                                                         \
	"person_id, facility_id, display_name, birth_date, insurer_number, "   \
	"scheme, mynumber_card, insurance_registration, ecert_expiry, "        \
	"card_expiry, care_needs, setting, legacy_card_expiry, "               \
	"certificate_status, certificate_basis, certificate_applied_on, "      \
	"certificate_valid_until, verified_at, source, etag, updated_at"

#define DB_PERSON_COLS_P                                                       \
	"p.person_id, p.facility_id, p.display_name, p.birth_date, "           \
	"p.insurer_number, p.scheme, p.mynumber_card, "                        \
	"p.insurance_registration, p.ecert_expiry, p.card_expiry, "            \
	"p.care_needs, p.setting, p.legacy_card_expiry, "                      \
	"p.certificate_status, p.certificate_basis, "                          \
	"p.certificate_applied_on, p.certificate_valid_until, "                \
	"p.verified_at, p.source, p.etag, p.updated_at"

/* An insurer column's position from 0, in DB_INSURER_COLS order. */
enum db_insurer_col {
	DB_ICOL_NUMBER,
	DB_ICOL_NAME_JA,
	DB_ICOL_NAME_EN,
	DB_ICOL_SCHEME,
	DB_ICOL_PREF,
	DB_ICOL_ADDRESS,
	DB_ICOL_PHONE,
	DB_ICOL_URL,
	DB_ICOL_UPDATED,
	DB_INSURER_NCOLS
};

#define DB_INSURER_COLS                                                        \
	"insurer_number, name_ja, name_en, scheme, prefecture_code, address, " \
	"phone, url, updated_at"

#define DB_KEY_COLS "id, role, facility_id, name, created_at, revoked_at"

#define DB_AUDIT_COLS                                                          \
	"seq, time, key_id, request_id, method, route, person_ids, status, "   \
	"absent_ids"
#define DB_AUDIT_COLS_A                                                        \
	"a.seq, a.time, a.key_id, a.request_id, a.method, a.route, "           \
	"a.person_ids, a.status, a.absent_ids"

#endif
