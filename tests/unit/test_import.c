/* Unit tests of api/import.c: the streaming import engine on a temporary
 * database file, no HTTP. */
#include <criterion/criterion.h>
#include <iconv.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/import.h"
#include "db/db.h"
#include "db/insurer_db.h"
#include "db/person_db.h"
#include "rules/rules.h"
#include "tempdb.h"

/* 2025-06-01T00:00:00Z: 09:00 in Tokyo. */
#define NOW 1748736000.0
/* An individual number with a valid check digit (SPEC §8's example). */
#define MYNUMBER "123456789018"

static char dir[64];
static int n_db; /* databases made by this test */

static void setup(void)
{
	tempdir_make(dir, "import");
	n_db = 0;
}

static void teardown(void)
{
	tempdir_remove(dir);
}

TestSuite(import, .init = setup, .fini = teardown);

/* A fresh, migrated database file; its path in out. */
static void db_new(char *out, size_t outlen)
{
	char err[256];
	int from, to;

	snprintf(out, outlen, "%s/t%d.db", dir, n_db++);
	cr_assert_eq(db_migrate(out, &from, &to, err, sizeof err), 0, "%s",
		     err);
}

static struct api_import_opts opts(enum api_import_kind kind,
				   enum api_import_format format,
				   enum api_import_mode mode)
{
	struct api_import_opts o;

	memset(&o, 0, sizeof o);
	o.kind = kind;
	o.format = format;
	o.mode = mode;
	o.charset = API_IMPORT_UTF8;
	o.now = NOW;
	o.today = rules_date_tokyo((int64_t)NOW);
	return o;
}

/* api_import_new into *resp, cleared first. */
static struct api_import *import_new(const char *path,
				     const struct api_import_opts *o,
				     struct api_response *resp)
{
	memset(resp, 0, sizeof *resp);
	return api_import_new(path, o, resp);
}

/* Imports data[0..len) into the database at path, fed in pieces of chunk
 * bytes (0: in one go).  Returns the answer (new reference); *status. */
static json_t *run(const char *path, const struct api_import_opts *o,
		   const char *data, size_t len, size_t chunk, int *status)
{
	struct api_response resp;
	struct api_import *im;
	json_error_t jerr;
	json_t *doc;
	size_t off = 0, n;

	im = import_new(path, o, &resp);
	cr_assert_not_null(im, "api_import_new: %d %s", resp.status,
			   resp.body ? resp.body : "");
	while (off < len) {
		n = chunk == 0 || chunk > len - off ? len - off : chunk;
		api_import_feed(im, data + off, n);
		off += n;
	}
	api_import_finish(im, &resp, NULL);
	cr_assert_not_null(resp.body);
	doc = json_loadb(resp.body, resp.body_len, 0, &jerr);
	cr_assert_not_null(doc, "answer is not JSON: %s", resp.body);
	*status = resp.status;
	api_response_fini(&resp);
	return doc;
}

static json_t *run_str(const char *path, const struct api_import_opts *o,
		       const char *data, int *status)
{
	return run(path, o, data, strlen(data), 0, status);
}

/* run_str of a persons import in format and mode into a new database,
 * whose path goes to path. */
static json_t *import_fresh(char path[128], enum api_import_format format,
			    enum api_import_mode mode, const char *data,
			    int *status)
{
	struct api_import_opts o = opts(API_IMPORT_PERSONS, format, mode);

	db_new(path, 128);
	return run_str(path, &o, data, status);
}

static json_int_t num(json_t *doc, const char *key)
{
	json_t *v = json_object_get(doc, key);

	cr_assert(json_is_integer(v), "no integer %s", key);
	return json_integer_value(v);
}

/* The rejected entry for line `line`, or NULL. */
static json_t *rejected_line(json_t *doc, json_int_t line)
{
	json_t *list = json_object_get(doc, "rejected"), *e;
	size_t i;

	json_array_foreach(list, i, e)
		if (json_integer_value(json_object_get(e, "line")) == line)
			return e;
	return NULL;
}

/* The code and field of the first error of rejected line `line`. */
static void expect_rejected(json_t *doc, json_int_t line, const char *field,
			    const char *code)
{
	json_t *e = rejected_line(doc, line), *err;

	cr_assert_not_null(e, "line %lld is not rejected", (long long)line);
	err = json_array_get(json_object_get(e, "errors"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(err, "field")),
			 field, "line %lld", (long long)line);
	cr_expect_str_eq(json_string_value(json_object_get(err, "code")), code,
			 "line %lld", (long long)line);
}

/* run() of data[0..len) in pieces of chunk bytes into a new database:
 * answered 200, one person inserted, line rejected for field and code. */
static void expect_one_stored_one_rejected(const struct api_import_opts *o,
					   const char *data, size_t len,
					   size_t chunk, json_int_t line,
					   const char *field, const char *code)
{
	char path[128];
	json_t *doc;
	int status;

	db_new(path, sizeof path);
	doc = run(path, o, data, len, chunk, &status);
	cr_expect_eq(status, 200);
	cr_expect_eq(num(doc, "inserted"), 1);
	expect_rejected(doc, line, field, code);
	json_decref(doc);
}

/* Reads a stored person (false when absent). */
static bool person_get(const char *path, const char *id, struct db_person *p)
{
	char err[256];
	struct db *db = db_open(path, err, sizeof err);
	struct db_conn *c;
	enum db_result r;

	cr_assert_not_null(db, "%s", err);
	c = db_conn_get(db);
	cr_assert_not_null(c);
	r = db_person_get(c, id, p);
	db_close(db);
	cr_assert(r == DB_OK || r == DB_NOT_FOUND);
	return r == DB_OK;
}

/* ---- CSV parsing -------------------------------------------------------- */

struct csv_case {
	const char *name;
	const char *input;
	/* expected display_name of person "b" ("" = stored without) */
	const char *b_name;
	json_int_t lines, inserted, rejected;
};

static const struct csv_case csv_cases[] = {
    {"plain LF", "person_id,display_name\nb,Bob\n", "Bob", 1, 1, 0},
    {"CRLF", "person_id,display_name\r\nb,Bob\r\n", "Bob", 1, 1, 0},
    {"no final newline", "person_id,display_name\nb,Bob", "Bob", 1, 1, 0},
    {"UTF-8 BOM", "\xef\xbb\xbfperson_id,display_name\r\nb,Bob\r\n", "Bob", 1,
     1, 0},
    {"quoted comma", "person_id,display_name\nb,\"Smith, Bob\"\n", "Smith, Bob",
     1, 1, 0},
    {"doubled quotes", "person_id,display_name\nb,\"He said \"\"hi\"\"\"\n",
     "He said \"hi\"", 1, 1, 0},
    {"quoted header", "\"person_id\",\"display_name\"\nb,Bob\n", "Bob", 1, 1,
     0},
    {"embedded newline is one record (a control character: rejected)",
     "person_id,display_name\na,\"x\r\ny\"\nb,Bob\n", "Bob", 2, 1, 1},
    {"blank lines skipped", "person_id,display_name\n\nb,Bob\n\n,\n", "Bob", 1,
     1, 0},
    {"empty cell is absent", "person_id,display_name,birth_date\nb,,\n", "", 1,
     1, 0},
    {"missing trailing cells", "person_id,display_name,birth_date\nb\n", "", 1,
     1, 0},
    {"trailing empty cells beyond the header", "person_id\nb,,\n", "", 1, 1, 0},
    {"UTF-8 text", "person_id,display_name\nb,山田 太郎\n", "山田 太郎", 1, 1,
     0},
    {"CR only line ends", "person_id,display_name\rb,Bob\r", "Bob", 1, 1, 0},
};

Test(import, csv_parsing_table)
{
	size_t i;

	for (i = 0; i < sizeof csv_cases / sizeof csv_cases[0]; i++) {
		const struct csv_case *k = &csv_cases[i];
		struct api_import_opts o = opts(
		    API_IMPORT_PERSONS, API_IMPORT_CSV, API_IMPORT_BEST_EFFORT);
		struct db_person p;
		char path[128];
		json_t *doc;
		int status;

		db_new(path, sizeof path);
		doc = run_str(path, &o, k->input, &status);
		cr_expect_eq(status, 200, "%s: status %d", k->name, status);
		cr_expect_eq(num(doc, "lines"), k->lines, "%s: lines", k->name);
		cr_expect_eq(num(doc, "inserted"), k->inserted, "%s: inserted",
			     k->name);
		cr_expect_eq(num(doc, "rejected_total"), k->rejected,
			     "%s: rejected", k->name);
		cr_expect(person_get(path, "b", &p), "%s: b not stored",
			  k->name);
		cr_expect_str_eq(p.display_name, k->b_name, "%s", k->name);
		json_decref(doc);
	}
}

Test(import, csv_line_numbers_count_records_header_and_blank_lines)
{
	char path[128];
	json_t *doc;
	int status;

	doc = import_fresh(path, API_IMPORT_CSV, API_IMPORT_BEST_EFFORT,
			   "person_id,birth_date,display_name\n"
			   "a,\"1950-01-01\",\"two\nlines\"\n" /* line 2 */
			   "\n"                                /* line 3 */
			   "c,1950-02-30\n"                    /* line 4 */
			   ",1950-01-01\n",                    /* line 5 */
			   &status);
	cr_expect_eq(status, 200);
	/* a newline is a control character: no display_name has one */
	expect_rejected(doc, 2, "/display_name", "invalid_text");
	expect_rejected(doc, 4, "/birth_date", "invalid_date");
	expect_rejected(doc, 5, "/person_id", "missing_field");
	cr_expect_eq(num(doc, "rejected_total"), 3);
	json_decref(doc);
}

Test(import, csv_columns_map_to_the_person_object)
{
	struct db_person p;
	char path[128];
	json_t *doc;
	int status;

	doc = import_fresh(
	    path, API_IMPORT_CSV, API_IMPORT_ALL_OR_NOTHING,
	    "person_id,insurer_number,care_needs,certificate_status,"
	    "certificate_basis,certificate_valid_until,setting\n"
	    "p1,01040013,elderly; pin_difficulty;,issued,"
	    "application,2026-07-31,care_facility\n",
	    &status);
	cr_expect_eq(status, 200, "%d", status);
	cr_assert(person_get(path, "p1", &p));
	/* numbers stay strings: the leading zero is kept */
	cr_expect_str_eq(p.facts.insurer_number, "01040013");
	cr_expect_eq(p.facts.care_needs, (1u << RULES_NEED_ELDERLY) |
					     (1u << RULES_NEED_PIN_DIFFICULTY));
	cr_expect_eq(p.facts.cert_status, RULES_CERT_ISSUED);
	cr_expect_eq(p.facts.cert_basis, RULES_BASIS_APPLICATION);
	json_decref(doc);
}

Test(import, csv_certificate_without_status_is_missing_field)
{
	char path[128];
	json_t *doc;
	int status;

	doc = import_fresh(path, API_IMPORT_CSV, API_IMPORT_BEST_EFFORT,
			   "person_id,certificate_applied_on\np1,2025-05-01\n",
			   &status);
	expect_rejected(doc, 2, "/certificate/status", "missing_field");
	json_decref(doc);
}

Test(import, csv_unterminated_quote_rejects_the_last_record)
{
	char path[128];
	json_t *doc;
	int status;

	doc =
	    import_fresh(path, API_IMPORT_CSV, API_IMPORT_BEST_EFFORT,
			 "person_id,display_name\nb,Bob\nc,\"open\n", &status);
	cr_expect_eq(status, 200);
	cr_expect_eq(num(doc, "inserted"), 1);
	expect_rejected(doc, 3, "", "invalid_type");
	json_decref(doc);
}

/* ---- the header --------------------------------------------------------- */

Test(import, csv_unknown_header_refuses_the_whole_import)
{
	struct db_person p;
	char path[128];
	json_t *doc, *errs;
	int status;

	doc = import_fresh(path, API_IMPORT_CSV, API_IMPORT_BEST_EFFORT,
			   "person_id,birth_dat,display_name,display_name\n"
			   "b,1950-01-01,Bob,Bob\n",
			   &status);
	cr_expect_eq(status, 422);
	errs = json_object_get(doc, "errors");
	cr_assert_eq(json_array_size(errs), 2, "%s",
		     json_dumps(doc, JSON_COMPACT));
	cr_expect_str_eq(json_string_value(
			     json_object_get(json_array_get(errs, 0), "field")),
			 "/header/2");
	cr_expect_str_eq(
	    json_string_value(json_object_get(json_array_get(errs, 0), "code")),
	    "unknown_field");
	cr_expect_str_eq(
	    json_string_value(json_object_get(json_array_get(errs, 1), "code")),
	    "conflicting_fields");
	cr_expect_not(person_get(path, "b", &p));
	json_decref(doc);
}

Test(import, csv_header_without_person_id)
{
	char path[128];
	json_t *doc;
	int status;

	doc = import_fresh(path, API_IMPORT_CSV, API_IMPORT_BEST_EFFORT,
			   "display_name\nBob\n", &status);
	cr_expect_eq(status, 422);
	cr_expect_str_eq(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(doc, "errors"), 0), "code")),
	    "missing_field");
	json_decref(doc);
}

/* ---- NDJSON ------------------------------------------------------------- */

Test(import, ndjson_lines_blank_crlf_and_errors)
{
	char path[128];
	json_t *doc;
	int status;

	doc = import_fresh(path, API_IMPORT_NDJSON, API_IMPORT_BEST_EFFORT,
			   "{\"person_id\":\"a\"}\r\n"                   /* 1 */
			   "\r\n"                                        /* 2 */
			   "   \n"                                       /* 3 */
			   "{\"person_id\":\"b\",\"bogus\":1}\n"         /* 4 */
			   "{\"birth_date\":\"1950-01-01\"}\n"           /* 5 */
			   "{\"person_id\":\"c\"\n"                      /* 6 */
			   "[1]\n"                                       /* 7 */
			   "{\"person_id\":\"d\",\"person_id\":\"d\"}\n" /* 8 */
			   "{\"person_id\":\"e\"}",                      /* 9 */
			   &status);
	cr_expect_eq(status, 200);
	cr_expect_eq(num(doc, "lines"), 7);
	cr_expect_eq(num(doc, "inserted"), 2);
	expect_rejected(doc, 4, "/bogus", "unknown_field");
	expect_rejected(doc, 5, "/person_id", "missing_field");
	expect_rejected(doc, 6, "", "invalid_json");
	expect_rejected(doc, 7, "", "invalid_type");
	expect_rejected(doc, 8, "", "invalid_json");
	cr_expect_str_eq(json_string_value(json_object_get(
			     rejected_line(doc, 4), "person_id")),
			 "b");
	cr_expect(
	    json_is_null(json_object_get(rejected_line(doc, 5), "person_id")));
	json_decref(doc);
}

Test(import, long_line_is_rejected_not_fatal)
{
	struct api_import_opts o =
	    opts(API_IMPORT_PERSONS, API_IMPORT_NDJSON, API_IMPORT_BEST_EFFORT);
	size_t pad = API_IMPORT_LINE_MAX + 100, len;
	char *data;

	data = malloc(pad + 100);
	cr_assert_not_null(data);
	len = (size_t)sprintf(data, "{\"person_id\":\"a\",\"display_name\":\"");
	memset(data + len, 'x', pad);
	len += pad;
	len += (size_t)sprintf(data + len, "\"}\n{\"person_id\":\"b\"}\n");
	expect_one_stored_one_rejected(&o, data, len, 4096, 1, "",
				       "invalid_json");

	/* the same as a CSV record */
	o.format = API_IMPORT_CSV;
	len = (size_t)sprintf(data, "person_id,display_name\na,");
	memset(data + len, 'x', pad);
	len += pad;
	len += (size_t)sprintf(data + len, "\nb,Bob\n");
	expect_one_stored_one_rejected(&o, data, len, 0, 2, "", "invalid_type");
	free(data);
}

/* ---- chunk boundaries --------------------------------------------------- */

/* UTF-8 -> CP932, as Excel would save it (new, caller frees). */
static char *to_cp932(const char *utf8, size_t *outlen)
{
	iconv_t cd = iconv_open("CP932", "UTF-8");
	size_t il = strlen(utf8), ol = il * 2 + 16;
	char *out = malloc(ol), *op = out, *ip = (char *)utf8;

	cr_assert(cd != (iconv_t)-1);
	cr_assert_not_null(out);
	cr_assert_neq(iconv(cd, &ip, &il, &op, &ol), (size_t)-1);
	iconv_close(cd);
	*outlen = (size_t)(op - out);
	return out;
}

#define SJIS_CSV                                                               \
	"person_id,display_name,care_needs\r\n"                                \
	"s1,山田 太郎,elderly\r\n"                                         \
	"s2,\"ソフト表示, 能力\",dementia\r\n" /* trail bytes 0x5C */          \
	"s3,髙橋 﨑,\r\n"                      /* CP932 extensions */          \
	"s4,ｶﾀｶﾅ,bogus\r\n"

struct chunk_case {
	const char *name;
	enum api_import_format format;
	bool sjis;
	const char *input;
	json_int_t rejected;
};

static const struct chunk_case chunk_cases[] = {
    {"csv", API_IMPORT_CSV, false,
     "\xef\xbb\xbfperson_id,display_name,care_needs\r\n"
     "a,\"Smith, \"\"Bob\"\"\",elderly;dementia\r\n"
     "b,山田,\r\n\r\n"
     "c,\"two\r\nlines\",\r\n"
     "d,x,bogus\r\n"
     "e,\"end\"",
     2},
    {"ndjson", API_IMPORT_NDJSON, false,
     "\xef\xbb\xbf{\"person_id\":\"a\",\"display_name\":\"山田 太郎\"}\r\n"
     "\n"
     "{\"person_id\":\"b\",\"care_needs\":[\"elderly\"]}\n"
     "{\"person_id\":\"c\",\"birth_date\":\"bad\"}\n"
     "{\"person_id\":\"d\"}",
     1},
    {"shift_jis csv", API_IMPORT_CSV, true, SJIS_CSV, 1},
};

Test(import, chunk_boundaries_do_not_matter)
{
	static const size_t chunks[] = {0, 1, 2, 3, 7, 64};
	size_t i, k, len;

	for (i = 0; i < sizeof chunk_cases / sizeof chunk_cases[0]; i++) {
		const struct chunk_case *c = &chunk_cases[i];
		struct api_import_opts o =
		    opts(API_IMPORT_PERSONS, c->format, API_IMPORT_BEST_EFFORT);
		char *bytes = NULL;
		json_t *first = NULL;

		if (c->sjis) {
			bytes = to_cp932(c->input, &len);
			o.charset = API_IMPORT_SHIFT_JIS;
		} else {
			len = strlen(c->input);
		}
		for (k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
			char path[128];
			json_t *doc;
			int status;

			db_new(path, sizeof path);
			doc = run(path, &o, bytes ? bytes : c->input, len,
				  chunks[k], &status);
			cr_expect_eq(status, 200, "%s/%zu", c->name, chunks[k]);
			if (!first) {
				first = doc;
				continue;
			}
			cr_expect(json_equal(first, doc),
				  "%s: chunks of %zu differ: %s vs %s", c->name,
				  chunks[k], json_dumps(doc, JSON_COMPACT),
				  json_dumps(first, JSON_COMPACT));
			json_decref(doc);
		}
		cr_expect_eq(num(first, "rejected_total"), c->rejected,
			     "%s: %s", c->name,
			     json_dumps(first, JSON_COMPACT));
		json_decref(first);
		free(bytes);
	}
}

Test(import, shift_jis_text_is_converted)
{
	struct api_import_opts o =
	    opts(API_IMPORT_PERSONS, API_IMPORT_CSV, API_IMPORT_BEST_EFFORT);
	struct db_person p;
	char path[128], *bytes;
	json_t *doc;
	size_t len;
	int status;

	o.charset = API_IMPORT_SHIFT_JIS;
	bytes = to_cp932(SJIS_CSV, &len);
	db_new(path, sizeof path);
	doc = run(path, &o, bytes, len, 1, &status);
	cr_expect_eq(status, 200);
	cr_expect_eq(num(doc, "inserted"), 3);
	expect_rejected(doc, 5, "/care_needs/0", "invalid_enum");
	cr_assert(person_get(path, "s1", &p));
	cr_expect_str_eq(p.display_name, "山田 太郎");
	cr_assert(person_get(path, "s2", &p));
	cr_expect_str_eq(p.display_name, "ソフト表示, 能力");
	cr_assert(person_get(path, "s3", &p));
	cr_expect_str_eq(p.display_name, "髙橋 﨑");
	json_decref(doc);
	free(bytes);
}

Test(import, nul_bytes_in_csv_are_not_text)
{
	struct api_import_opts o =
	    opts(API_IMPORT_PERSONS, API_IMPORT_CSV, API_IMPORT_BEST_EFFORT);
	static const char body[] = "person_id,display_name\na,x\0y\nb,ok\n";
	static const char header[] = "person_id\0x\nb\n";
	char path[128];
	json_t *doc;
	int status;

	expect_one_stored_one_rejected(&o, body, sizeof body - 1, 0, 2,
				       "/display_name", "invalid_text");
	db_new(path, sizeof path);
	doc = run(path, &o, header, sizeof header - 1, 0, &status);
	cr_expect_eq(status, 422);
	json_decref(doc);
}

Test(import, invalid_shift_jis_rejects_its_line)
{
	struct api_import_opts o =
	    opts(API_IMPORT_PERSONS, API_IMPORT_CSV, API_IMPORT_BEST_EFFORT);
	static const char data[] =
	    "person_id,display_name\r\na,\x82\r\nb,ok\r\n";

	o.charset = API_IMPORT_SHIFT_JIS;
	/* 0x82 then CR: a lead byte without its trail byte */
	expect_one_stored_one_rejected(&o, data, sizeof data - 1, 0, 2,
				       "/display_name", "invalid_type");
}

/* ---- modes, re-import --------------------------------------------------- */

static const char three_lines[] =
    "{\"person_id\":\"a\",\"mynumber_card\":\"held\"}\n"
    "{\"person_id\":\"b\",\"mynumber_card\":\"maybe\"}\n"
    "{\"person_id\":\"c\"}\n";

Test(import, all_or_nothing_stores_nothing_on_a_bad_line)
{
	struct db_person p;
	char path[128];
	json_t *doc;
	int status;

	doc = import_fresh(path, API_IMPORT_NDJSON, API_IMPORT_ALL_OR_NOTHING,
			   three_lines, &status);
	cr_expect_eq(status, 422);
	cr_expect(json_is_false(json_object_get(doc, "stored")));
	cr_expect_eq(num(doc, "inserted"), 0);
	cr_expect_eq(num(doc, "rejected_total"), 1);
	expect_rejected(doc, 2, "/mynumber_card", "invalid_enum");
	/* also a problem+json */
	cr_expect_eq(num(doc, "status"), 422);
	cr_expect_str_eq(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(doc, "errors"), 0), "field")),
	    "/lines/2/mynumber_card");
	cr_expect_not(person_get(path, "a", &p));
	cr_expect_not(person_get(path, "c", &p));
	json_decref(doc);
}

Test(import, best_effort_keeps_the_good_lines_and_reimport_is_unchanged)
{
	struct api_import_opts o =
	    opts(API_IMPORT_PERSONS, API_IMPORT_NDJSON, API_IMPORT_BEST_EFFORT);
	struct db_person p;
	char path[128], updated_at[32];
	json_t *doc;
	int status;

	db_new(path, sizeof path);
	doc = run_str(path, &o, three_lines, &status);
	cr_expect_eq(status, 200);
	cr_expect(json_is_true(json_object_get(doc, "stored")));
	cr_expect_eq(num(doc, "inserted"), 2);
	cr_expect_eq(num(doc, "rejected_total"), 1);
	json_decref(doc);
	cr_assert(person_get(path, "a", &p));
	memcpy(updated_at, p.updated_at, sizeof updated_at);

	o.now = NOW + 3600;
	doc = run_str(path, &o, three_lines, &status);
	cr_expect_eq(status, 200);
	cr_expect_eq(num(doc, "inserted"), 0);
	cr_expect_eq(num(doc, "updated"), 0);
	cr_expect_eq(num(doc, "unchanged"), 2);
	json_decref(doc);
	cr_assert(person_get(path, "a", &p));
	cr_expect_str_eq(p.updated_at, updated_at);

	doc = run_str(path, &o,
		      "{\"person_id\":\"a\",\"mynumber_card\":\"none\"}\n",
		      &status);
	cr_expect_eq(num(doc, "updated"), 1);
	json_decref(doc);
}

Test(import, rejected_list_is_capped)
{
	struct api_import_opts o =
	    opts(API_IMPORT_PERSONS, API_IMPORT_NDJSON, API_IMPORT_BEST_EFFORT);
	size_t i, len = 0, n = API_IMPORT_LISTED_MAX + 500;
	char path[128], *data = malloc(n * 32);
	json_t *doc;
	int status;

	cr_assert_not_null(data);
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(data + len, "{\"x\":%zu}\n", i);
	db_new(path, sizeof path);
	doc = run(path, &o, data, len, 0, &status);
	cr_expect_eq(num(doc, "rejected_total"), (json_int_t)n);
	cr_expect_eq(json_array_size(json_object_get(doc, "rejected")),
		     API_IMPORT_LISTED_MAX);
	json_decref(doc);
	free(data);
}

/* ---- individual numbers ------------------------------------------------- */

struct mynumber_case {
	const char *name;
	enum api_import_format format;
	const char *input;
	const char *field;
};

static const struct mynumber_case mynumber_cases[] = {
    {"csv cell", API_IMPORT_CSV,
     "person_id,display_name\na,ok\nb," MYNUMBER "\nc,bad,extra\n",
     "/lines/3/display_name"},
    {"csv cell with hyphens", API_IMPORT_CSV,
     "person_id,display_name\na,ok\nb,1234-5678-9018\n",
     "/lines/3/display_name"},
    {"csv cell beyond the header", API_IMPORT_CSV,
     "person_id\na\nb,," MYNUMBER "\n", "/lines/3/header/3"},
    {"csv header", API_IMPORT_CSV, "person_id," MYNUMBER "\na,b\n",
     "/header/2"},
    {"ndjson value", API_IMPORT_NDJSON,
     "{\"person_id\":\"a\"}\n{\"person_id\":\"b\",\"display_name\":\"" MYNUMBER
     "\"}\n",
     "/lines/2/display_name"},
    {"ndjson integer", API_IMPORT_NDJSON,
     "{\"person_id\":\"a\"}\n{\"person_id\":\"b\",\"x\":" MYNUMBER "}\n",
     "/lines/2/x"},
    {"ndjson key", API_IMPORT_NDJSON,
     "{\"person_id\":\"a\"}\n{\"" MYNUMBER "\":1}\n", "/lines/2"},
    {"ndjson broken line", API_IMPORT_NDJSON,
     "{\"person_id\":\"a\"}\n{\"display_name\": \"" MYNUMBER "\n", "/lines/2"},
};

Test(import, individual_number_refuses_everything_in_both_modes)
{
	size_t i;
	int m;

	for (i = 0; i < sizeof mynumber_cases / sizeof mynumber_cases[0]; i++) {
		const struct mynumber_case *k = &mynumber_cases[i];

		for (m = 0; m < 2; m++) {
			struct api_import_opts o =
			    opts(API_IMPORT_PERSONS, k->format,
				 m ? API_IMPORT_BEST_EFFORT
				   : API_IMPORT_ALL_OR_NOTHING);
			struct db_person p;
			char path[128], *text;
			json_t *doc, *errs;
			int status;

			db_new(path, sizeof path);
			doc = run_str(path, &o, k->input, &status);
			text = json_dumps(doc, JSON_COMPACT);
			cr_expect_eq(status, 422, "%s: %s", k->name, text);
			errs = json_object_get(doc, "errors");
			cr_expect_eq(json_array_size(errs), 1, "%s", text);
			cr_expect_str_eq(json_string_value(json_object_get(
					     json_array_get(errs, 0), "code")),
					 "individual_number_not_accepted", "%s",
					 k->name);
			cr_expect_str_eq(json_string_value(json_object_get(
					     json_array_get(errs, 0), "field")),
					 k->field, "%s", k->name);
			cr_expect_null(strstr(text, "9018"),
				       "%s: the number is echoed", k->name);
			cr_expect_null(json_object_get(doc, "inserted"));
			cr_expect_not(person_get(path, "a", &p), "%s: stored",
				      k->name);
			free(text);
			json_decref(doc);
		}
	}
}

/* ---- insurers ----------------------------------------------------------- */

Test(import, insurers_csv_and_reimport)
{
	struct api_import_opts o =
	    opts(API_IMPORT_INSURERS, API_IMPORT_CSV, API_IMPORT_BEST_EFFORT);
	struct db_insurer ins;
	struct db_conn *c;
	struct db *db;
	char path[128], err[256];
	const char *csv = "insurer_number,name_ja,name_en\n"
			  "138057,テスト区,Test Ward\n"
			  "01040013,全国健康保険協会 宮城支部,\n"
			  "12345678,bad,\n"
			  ",nameless,\n";
	json_t *doc;
	int status;

	db_new(path, sizeof path);
	doc = run_str(path, &o, csv, &status);
	cr_expect_eq(status, 200, "%s", json_dumps(doc, JSON_COMPACT));
	/* 01040013 ships with the registry: its name is replaced */
	cr_expect_eq(num(doc, "inserted"), 1);
	cr_expect_eq(num(doc, "updated"), 1);
	expect_rejected(doc, 4, "/insurer_number", "invalid_insurer_number");
	expect_rejected(doc, 5, "/insurer_number", "missing_field");
	cr_expect_str_eq(json_string_value(json_object_get(
			     rejected_line(doc, 4), "insurer_number")),
			 "12345678");
	json_decref(doc);

	doc = run_str(path, &o, csv, &status);
	cr_expect_eq(num(doc, "unchanged"), 2);
	cr_expect_eq(num(doc, "inserted") + num(doc, "updated"), 0);
	json_decref(doc);

	db = db_open(path, err, sizeof err);
	cr_assert_not_null(db);
	c = db_conn_get(db);
	cr_assert_eq(db_insurer_get(c, "138057", &ins), DB_OK);
	cr_expect_str_eq(ins.name_ja, "テスト区");
	cr_expect_str_eq(ins.name_en, "Test Ward");
	db_close(db);
}

/* ---- the database ------------------------------------------------------- */

Test(import, a_second_writer_waits_then_is_refused)
{
	struct api_import_opts o = opts(API_IMPORT_PERSONS, API_IMPORT_NDJSON,
					API_IMPORT_ALL_OR_NOTHING);
	struct api_response resp;
	struct api_import *a, *b;
	char path[128];

	db_new(path, sizeof path);
	a = import_new(path, &o, &resp);
	cr_assert_not_null(a);
	b = api_import_new(path, &o, &resp);
	cr_expect_null(b);
	cr_expect_eq(resp.status, 503);
	api_response_fini(&resp);
	api_import_free(a);
}

Test(import, free_without_finish_rolls_back)
{
	struct api_import_opts o =
	    opts(API_IMPORT_PERSONS, API_IMPORT_NDJSON, API_IMPORT_BEST_EFFORT);
	struct api_response resp;
	struct api_import *im;
	struct db_person p;
	char path[128];
	const char *line = "{\"person_id\":\"a\"}\n";

	db_new(path, sizeof path);
	im = import_new(path, &o, &resp);
	cr_assert_not_null(im);
	cr_expect(api_import_feed(im, line, strlen(line)));
	cr_expect_eq(api_import_lines(im), 1);
	api_import_free(im);
	cr_expect_not(person_get(path, "a", &p));
}

/* Found by fuzz_import: Shift_JIS input that ends on a lead byte leaves it
 * in carry, and the end of input flushed it with a NULL data pointer (UB
 * under UBSan, which make test-san runs this file with). */
Test(import, shift_jis_input_ending_on_a_lead_byte)
{
	struct api_import_opts o =
	    opts(API_IMPORT_PERSONS, API_IMPORT_CSV, API_IMPORT_BEST_EFFORT);
	static const char data[] = "person_id,display_name\r\nb,ok\r\na,\x82";

	o.charset = API_IMPORT_SHIFT_JIS;
	expect_one_stored_one_rejected(&o, data, sizeof data - 1, 0, 3,
				       "/display_name", "invalid_type");
}
