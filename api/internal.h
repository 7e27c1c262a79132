/* internal.h - what the files of api/ share with each other (not service/). */
#ifndef SHIKAKU_API_INTERNAL_H
#define SHIKAKU_API_INTERNAL_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "api/api.h"
#include "rules/rules.h"

/* ---- bounded growing buffer (api/buf.c) --------------------------------- */

/* A byte buffer that refuses to grow past `max`: once an append would pass
 * it (or malloc fails) the buffer is marked failed and further appends are
 * no-ops, so callers check once at the end instead of after every append. */
struct api_buf {
	char *data;
	size_t len, cap, max;
	bool failed;
};

void api_buf_init(struct api_buf *b, size_t max);
void api_buf_fini(struct api_buf *b);
void api_buf_add(struct api_buf *b, const char *s, size_t n);
/* Inline, so that the length of a literal is known at compile time. */
static inline void api_buf_adds(struct api_buf *b, const char *s)
{
	api_buf_add(b, s, strlen(s));
}
/* Appends the printf text of fmt, of any length (past 511 bytes it is
 * formatted twice); a format error marks the buffer failed. */
void api_buf_printf(struct api_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal (quotes included); NULL → null. */
void api_buf_json_str(struct api_buf *b, const char *s);
void api_buf_json_strn(struct api_buf *b, const char *s, size_t n);
/* Appends a date as a JSON string, or null for RULES_NO_DATE. */
void api_buf_json_date(struct api_buf *b, int32_t day);
/* Appends key (a literal such as ",\"name\":"), then s as by
 * api_buf_json_str or day as by api_buf_json_date. */
static inline void api_buf_key_str(struct api_buf *b, const char *key,
				   const char *s)
{
	api_buf_adds(b, key);
	api_buf_json_str(b, s);
}
static inline void api_buf_key_date(struct api_buf *b, const char *key,
				    int32_t day)
{
	api_buf_adds(b, key);
	api_buf_json_date(b, day);
}
/* Appends the UTF-8 text s[0..n) for a terminal or a text/plain page:
 * every control character (C0 including newline and tab, DEL, C1), bidi
 * override, embedding or isolate (U+202A-U+202E, U+2066-U+2069) and
 * invalid sequence becomes U+FFFD, so stored text (rows written before
 * such text was refused) cannot move the cursor, retitle a terminal or
 * reorder a line. */
void api_buf_add_text_safe(struct api_buf *b, const char *s, size_t n);
/* The same into dst (dstlen > 0), cut at a character to dstlen - 1 bytes
 * and always terminated; s is a C string. */
void api_copy_text_safe(char *dst, size_t dstlen, const char *s);
/* Hands the contents (NUL-terminated) to the caller: new, caller frees.
 * NULL when the buffer failed. */
char *api_buf_take(struct api_buf *b, size_t *len);

/* ---- display width of UTF-8 text (api/width.c) -------------------------- */

/* Decodes the UTF-8 sequence at s (n > 0 bytes there) into *cp and returns
 * its length; 1 with *cp = U+FFFD when s does not start a valid sequence
 * (overlong forms and surrogates included), so a loop always advances. */
size_t api_utf8_decode(const char *s, size_t n, uint32_t *cp);
/* Terminal columns of one code point: 2 for East Asian Wide and Fullwidth
 * (W, F: CJK, kana, hangul, fullwidth forms, most emoji), 0 for combining
 * marks, zero-width characters and variation selectors, else 1. */
int api_char_width(uint32_t cp);
/* Terminal columns of the UTF-8 text s. */
size_t api_text_width(const char *s);
/* The length in bytes of the longest start of s that takes at most cols
 * columns, ending between two characters (never inside a UTF-8 sequence;
 * zero-width characters stay with the character before them); its width
 * into *width unless NULL. */
size_t api_text_prefix(const char *s, size_t cols, size_t *width);

/* ---- request bodies (api/json_arena.c) ---------------------------------- */

/* What json_loadb(buf, len, JSON_REJECT_DUPLICATES, err) returns, read by
 * api/json_read.c (faster; err has position, line, column and a text that
 * never quotes the input). */
json_t *api_json_read(const char *buf, size_t len, json_error_t *err);

/* api_json_read into the calling thread's arena (see
 * api_json_arena_install); release the document with json_decref on the
 * same thread. */
json_t *api_json_loadb(const char *buf, size_t len, json_error_t *err);

/* ---- validation errors (api/problem.c) ---------------------------------- */

#define API_MAX_ERRORS 50
#define API_FIELD_MAX  160

struct api_error {
	char field[API_FIELD_MAX];
	const char *code; /* static */
	char message[200];
};

/* Fixed size: collecting errors never allocates. */
struct api_errors {
	struct api_error e[API_MAX_ERRORS];
	size_t n;
	size_t dropped; /* errors beyond API_MAX_ERRORS */
};

/* Empties errs: only the counts, not the 18 KiB of entries (this runs on
 * every request). */
static inline void api_errors_init(struct api_errors *errs)
{
	errs->n = 0;
	errs->dropped = 0;
}

/* A new empty error list from the request's arena (never freed by the
 * caller), or NULL. */
struct api_ctx;
struct api_errors *api_errors_new(const struct api_ctx *ctx);

void api_errors_add(struct api_errors *errs, const char *field,
		    const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
bool api_errors_has(const struct api_errors *errs, const char *code);

/* Appends "/" + key to a JSON Pointer, escaping '~' and '/' (RFC 6901);
 * truncates safely. */
void api_pointer_join(char *dst, size_t dstlen, const char *base,
		      const char *key);
void api_pointer_index(char *dst, size_t dstlen, const char *base,
		       size_t index);

/* New problem object: {type, title, status, detail, errors}.  errs may be
 * NULL, then errors holds one entry {field, code, detail}. */
json_t *api_problem_new(int status, const char *code, const char *detail,
			const struct api_errors *errs, const char *field);
/* Fills resp with a problem+json (see api_problem_new). */
void api_respond_problem(struct api_response *resp, int status,
			 const char *code, const char *detail,
			 const struct api_errors *errs, const char *field);
/* ---- a handler's answer (api/problem.c) --------------------------------- */

/* What a handler returns: its answer, which api_end (router.c) renders
 * into the response, the one exit of every handled request.  Either a
 * problem (code set: status, detail, and errs or field; a Retry-After of
 * retry_after seconds when set), or status with its body: doc (JSON,
 * taken), or body (bytes, taken from an api_buf; a failed buffer is a 500),
 * or none (204, 304 without a body).  Strings are static or the request's
 * arena's; errs is the arena's.  A handler writes nothing else of the
 * response but headers of its own (ETag, Set-Cookie: api_response_header). */
struct api_result {
	int status;
	const char *content_type; /* of doc or body */
	json_t *doc;
	struct api_buf body;
	bool buffered;    /* body holds the answer */
	bool rendered;    /* the response holds it (api_rendered) */
	const char *code; /* a problem */
	const char *detail;
	const char *field;
	const struct api_errors *errs;
	const char *retry_after;
};

struct api_result api_ok_json(int status, json_t *doc,
			      const char *content_type);
/* Takes b's contents (b is left empty). */
struct api_result api_ok_buf(int status, struct api_buf *b,
			     const char *content_type);
struct api_result api_ok_empty(int status);
/* The answer is in the response already: the import engine's
 * (api_import_new, api_import_finish answer in a response of their own). */
struct api_result api_rendered(void);
struct api_result api_problem(int status, const char *code, const char *detail,
			      const struct api_errors *errs, const char *field);
/* The 500 "out of memory". */
struct api_result api_oom(void);
/* The 422 validation_failed of errs, detail "the request has invalid
 * values: see errors" (body) or "the query has invalid parameters: see
 * errors" (query true). */
struct api_result api_invalid(const struct api_errors *errs, bool query);
/* A failed store operation (r not DB_OK, not DB_NOT_FOUND): 503 with
 * Retry-After when busy, 507 when the disk is full, else 500 (reported for
 * the log with the connection api_conn noted, api_store_report). */
struct api_result api_db_problem(const struct api_ctx *ctx, enum db_result r);
/* res into resp (empty but for the handler's headers): the problem's
 * body and Retry-After, or the answer's status and body. */
void api_render(struct api_response *resp, struct api_result *res);

/* Adds field's invalid_text error to errs, and true, when the text s[0..n)
 * holds a control character or a bidi override (api_text_has_control). */
bool api_refuse_control_text(const char *s, size_t n, const char *field,
			     struct api_errors *errs);
/* Fills resp with a 503 problem (code, detail) and Retry-After: seconds. */
void api_respond_retry(struct api_response *resp, const char *code,
		       const char *detail, const char *seconds);
/* Fills resp with the 500 of a failed allocation ("out of memory"): the
 * one answer every handler gives when it cannot go on for want of memory
 * (when even that answer cannot be built, a static one, see
 * api_respond_json). */
void api_respond_oom(struct api_response *resp);
/* Fills resp with a JSON document; takes doc (the caller's reference: it
 * is released here, also on failure). */
void api_respond_json(struct api_response *resp, int status, json_t *doc,
		      const char *content_type);
/* Fills resp with a body taken from buf (500 if the buffer failed). */
void api_respond_buf(struct api_response *resp, int status, struct api_buf *buf,
		     const char *content_type);
void api_response_header(struct api_response *resp, const char *name,
			 const char *value);
/* src into dst, cut to dstlen - 1 bytes, always terminated (dstlen > 0):
 * what snprintf(dst, dstlen, "%s", src) does, for the paths every request
 * takes. */
void api_copy_truncated(char *dst, size_t dstlen, const char *src);
/* A failed store operation (r not DB_OK, not DB_NOT_FOUND) as the answer:
 * 503 with Retry-After when busy, 507 when the disk is full, else 500.
 * Anything but busy is also reported for the log (api_report_db_error). */
void api_respond_db_error(struct api_response *resp, enum db_result r);
/* Reports the store's error behind r (db_error_report: SQLite's code and
 * message with the request id) when r is a failure other than busy, for a
 * handler that answers it in words of its own. */
void api_report_db_error(struct api_response *resp, enum db_result r);
/* The thread's store connection, or NULL with a 503 (Retry-After) in *res.
 * Notes c in ctx (api_store_use). */
struct api_ctx;
struct db_conn *api_conn(const struct api_ctx *ctx, struct api_result *res);
/* Notes the connection c a handler uses, for api_store_report. */
void api_store_use(const struct api_ctx *ctx, struct db_conn *c);
/* Reports the store's error behind r (db_error_report: SQLite's code and
 * message with the request id and route) when r is a failure other than
 * busy, on the connection api_store_use noted. */
void api_store_report(const struct api_ctx *ctx, enum db_result r);
/* A 503 with Retry-After in resp, and true, while an import of this server
 * holds the database's write lock (api_import_writing). */
bool api_refuse_while_importing(struct api_response *resp);
/* api_conn for a write: refused at once (503, Retry-After) while an import
 * holds the write lock. */
struct db_conn *api_conn_for_write(const struct api_ctx *ctx,
				   struct api_result *res);

/* ---- per-request context (api/context.c) -------------------------------- */

/* The person ids a request named, NUL-separated, for the audit log (SPEC
 * §8); kept with the context, its buffer reused by the next request. */
struct api_audit_ids {
	char *ids;
	size_t len, cap, n;
	/* Ids it named that are stored nowhere: counted, not listed. */
	size_t n_absent;
};

/* Scratch memory of one request (errors, tag lists, the person record),
 * given back all at once when the next request on the connection begins:
 * no handler frees what it took from here. */
struct api_arena {
	char *base; /* the first block, kept across requests */
	size_t used, cap;
	void *extra; /* blocks beyond it, a list freed on reset */
};

struct route; /* api/router.c */

/* One request as api/ sees it, from its first callback to its answer:
 * made by api_ctx_new, reused across the keep-alive requests of a
 * connection (api_begin resets it). */
struct api_ctx {
	const struct api_app *app;
	const struct api_request *req;
	const struct route *route; /* matched once (api_begin); NULL: none */
	const char *label; /* the route's template for log and metrics */
	enum rules_lang lang;
	bool text;         /* text/plain summary wanted (eligibility routes) */
	bool csv;          /* text/csv wanted (the worklist) */
	int32_t today;     /* Asia/Tokyo */
	char path_id[128]; /* the {id} or {number} segment, unvalidated */
	/* The caller's key: key_id "" and facility NULL without one. */
	char key_id[24];
	/* The facility the key is bound to (NULL = every facility): it sees
	 * and writes only that facility's persons. */
	const char *facility;
	char facility_buf[65];
	int role; /* enum db_key_role; ADMIN when no key is asked for */
	/* A place in the audit queue is held for this request's record
	 * (api_audit_reserve). */
	bool audit_reserved;
	/* The ids it named (&audit_own), and its scratch memory (&arena_own):
	 * handlers, which see the context const, write there. */
	struct api_audit_ids *audit;
	struct api_arena *arena;
	struct api_audit_ids audit_own;
	struct api_arena arena_own;
	/* The answer being built: a handler adds headers of its own to it
	 * (api_header), nothing else. */
	struct api_response *resp;
	/* The store connection the handler uses (api_store_use): written
	 * through store_conn, for api_store_report. */
	struct db_conn **store_conn;
	struct db_conn *store_conn_own;
	/* The import being read (a streamed route's), NULL otherwise; and,
	 * while api_begin runs a streamed route's handler, &import: the
	 * handler opens the import there instead of reading a body. */
	struct api_import *import;
	struct api_import **import_out;
	/* The insurer number of /v1/insurers/{id}, checked (api_begin). */
	struct rules_insurer insurer;
};

/* ---- content negotiation (api/negotiate.c) ------------------------------ */

/* Formats a route answers in besides JSON. */
enum { API_FORMAT_TEXT = 1, API_FORMAT_CSV = 2 };

/* The answer's language: ?lang wins (ja or en, else an error in errs and
 * -1), then Accept-Language; Japanese otherwise. */
int api_negotiate_lang(const struct api_request *req, enum rules_lang *lang,
		       struct api_errors *errs);
/* ctx->text and ctx->csv from ?format (an error in errs and -1 for one
 * formats does not take) or Accept. */
int api_negotiate_format(struct api_ctx *ctx, unsigned formats,
			 struct api_errors *errs);

/* Starts ctx afresh for req: what the previous request left in it (its
 * arena, its audit ids) is given back. */
void api_ctx_reset(struct api_ctx *ctx, const struct api_app *app,
		   const struct api_request *req);

/* The caller's key (or session) found: its id, role (enum db_key_role) and
 * facility ("" for every facility) into ctx. */
void api_ctx_set_key(struct api_ctx *ctx, const char *key_id, int role,
		     const char *facility);

/* Adds a header of the handler's own (ETag, Set-Cookie) to its answer. */
void api_header(const struct api_ctx *ctx, const char *name, const char *value);

/* n bytes of the request's scratch memory (aligned for any type), or NULL
 * when out of memory; valid until the context is reset. */
void *api_alloc(const struct api_ctx *ctx, size_t n);

/* Checks the request's Authorization against the key store and fills
 * ctx's key_id, role and facility.  Returns 0, or -1 with a 401 (no key,
 * unknown or revoked) or a 503 (the store cannot be read) in resp. */
int api_authenticate(struct api_ctx *ctx, struct api_response *resp);

/* Notes that the request names a stored person (valid ids only), for the
 * audit log (SPEC §8): into ctx->audit, or an import's list. */
void api_audit_note(struct api_audit_ids *a, const char *person_id);

/* The request named person_id, and it is stored nowhere (under no
 * facility): the audit row counts it (absent_ids) instead of listing it,
 * and the note api_audit_note made of it, when it was the last one, is
 * taken back.  A flood of made-up ids then costs the disk nothing per id
 * (issue 12). */
void api_audit_absent(struct api_audit_ids *a, const char *person_id);

/* Reserves the place of the audit record of a request on a route that may
 * name stored persons, before it is handled (db/audit_log.h): no such
 * request is answered unaudited.  Returns 0 (ctx->audit_reserved set;
 * nothing to do without an audit log), or -1 with a 503 in resp:
 * audit_unavailable, or audit_log_full once the audit file holds
 * --audit-max-size.  The request must then not be handled. */
int api_audit_reserve(struct api_ctx *ctx, struct api_response *resp);

/* Writes the audit record of the request of ctx, whose answer is in resp,
 * when it named a person (stored, or only absent ones: api_audit_absent),
 * into the place reserved for it (ctx->audit_reserved) or else a new one;
 * gives an unused place back.  Returns 0, or -1 when the record could not
 * be queued: resp then holds a 503 audit_unavailable (or audit_log_full)
 * instead of its answer. */
int api_audit_record(const struct api_ctx *ctx, struct api_response *resp);

/* Replaces resp's answer (body and headers) with a 503 audit_unavailable
 * problem with Retry-After. */
void api_respond_audit_unavailable(struct api_response *resp);
/* The same with 503 audit_log_full (--audit-max-size reached). */
void api_respond_audit_full(struct api_response *resp);

const char *api_query_get(const struct api_request *req, const char *key);
/* Query checks that collect into errs (field "?name"): ?limit must be an
 * integer from 1 to max (*limit unchanged when absent or wrong); ?name a
 * date YYYY-MM-DD (*out unchanged when absent). */
void api_query_limit(const struct api_request *req, int max, int *limit,
		     struct api_errors *errs);
void api_query_date_into(const struct api_request *req, const char *name,
			 int32_t *out, struct api_errors *errs);
/* When errs holds errors: the 422 "the query has invalid parameters" in
 * resp, and true. */
bool api_query_invalid(struct api_response *resp,
		       const struct api_errors *errs);

/* v's string (v a JSON string) as a C string, or NULL when it holds a NUL
 * ("\u0000"), which no name, number or enum value does: a NUL would end
 * the C string early and make "held\u0000x" read as "held". */
static inline const char *api_json_cstr(json_t *v)
{
	const char *s = json_string_value(v);

	return s && strlen(s) == json_string_length(v) ? s : NULL;
}

/* ---- individual numbers in JSON (api/scan.c) ---------------------------- */

/* Looks through every key, string and integer of doc for an individual
 * number.  Returns true and the JSON Pointer of the first one in field. */
bool api_scan_individual_number(json_t *doc, char *field, size_t fieldlen);

/* ---- facts (api/facts.c) ------------------------------------------------ */

/* Validates the facts object at JSON Pointer `ptr` into *out, adding every
 * error found to errs.  as_of (or RULES_NO_DATE when it was itself
 * invalid) bounds birth_date.  Returns 0 when no error was added. */
int api_facts_parse(json_t *obj, const char *ptr, int32_t as_of,
		    struct rules_facts *out, struct api_errors *errs);

/* What is wrong with an insurer number, for a client's error message
 * (static string). */
const char *api_insurer_error_text(enum rules_insurer_error e);

/* ---- decisions (api/decision.c) ----------------------------------------- */

/* Appends the decision object of SPEC §6 as JSON. */
void api_decision_json(struct api_buf *b, const struct rules_decision *d,
		       const struct rules_params *p, enum rules_lang lang,
		       double now);
/* Appends the human summary for terminals. */
void api_decision_text(struct api_buf *b, const struct rules_decision *d,
		       const struct rules_params *p, enum rules_lang lang);
/* What changes next, in words, into out (NUL-terminated, cut to outlen):
 * "2027-08-01: 職権交付（後期高齢者 85歳以上）", or "2028-11-30 までなし"
 * when nothing changes within the horizon. */
void api_next_change_words(char *out, size_t outlen,
			   const struct rules_decision *d,
			   const struct rules_params *p, enum rules_lang lang);
/* Copies text into out, putting in the values its placeholders name
 * ({apply_by}, {recommended_apply_by} from d, which may be NULL;
 * {provisional_end}, {auto_age} from p). */
void api_text_render(char *out, size_t outlen, const char *text,
		     const struct rules_decision *d,
		     const struct rules_params *p);

/* ---- handlers ----------------------------------------------------------- */

struct api_result api_eligibility_evaluate(const struct api_ctx *ctx);
struct api_result api_eligibility_batch(const struct api_ctx *ctx);
struct api_result api_rules_get(const struct api_ctx *ctx);
struct api_result api_person_put(const struct api_ctx *ctx);
struct api_result api_person_get(const struct api_ctx *ctx);
struct api_result api_person_delete(const struct api_ctx *ctx);
struct api_result api_person_eligibility(const struct api_ctx *ctx);
struct api_result api_persons_list(const struct api_ctx *ctx);
struct api_result api_insurer_get(const struct api_ctx *ctx);
struct api_result api_insurer_put(const struct api_ctx *ctx);
struct api_result api_insurers_list(const struct api_ctx *ctx);

/* Reads the date query parameter name into *out when present; -1 with a
 * 422 in *res when it is not a real date. */
int api_query_date(const struct api_ctx *ctx, const char *name, int32_t *out,
		   struct api_result *res);

struct db_insurer;
/* The insurer answer: the derived facts of a valid number, overlaid with
 * the registry row (NULL: not registered).  A new reference. */
json_t *api_insurer_json(const struct rules_insurer *ins,
			 const struct db_insurer *row);
/* Validates an insurer object (the body of PUT /v1/insurers/{number} or an
 * insurer import line) for the valid number into *out. */
int api_insurer_parse(json_t *doc, const char *number, struct db_insurer *out,
		      struct api_errors *errs);

struct db_person;
/* Counts an answered decision for /metrics. */
void api_count_decision(const struct api_ctx *ctx,
			const struct rules_decision *d);
/* May the caller's key see p (its facility, or every facility)? */
bool api_person_visible(const struct api_ctx *ctx, const struct db_person *p);
/* verified_at absent or older than stale_after_days before today. */
bool api_person_stale(const struct api_ctx *ctx, const struct db_person *p);

/* api_body_object, and an empty error list from the request's arena in
 * *errs for what the handler finds wrong in it: NULL with the refusal in
 * *res when either fails. */
json_t *api_body_with_errors(const struct api_ctx *ctx, struct api_result *res,
			     struct api_errors **errs);

/* Is ct (a Content-Type, NULL when absent) application/json, with no
 * parameter but a UTF-8 charset? */
bool api_media_type_is_json(const char *ct);
/* The 415 of a JSON route sent another media type. */
void api_respond_not_json(struct api_response *resp);

/* Parses a JSON request body as the routes want it: 415 unless
 * application/json, 400 unless one JSON object without duplicate keys,
 * 422 individual_number_not_accepted when the body holds one.  Returns a
 * new reference, or NULL with the refusal in *res. */
json_t *api_body_object(const struct api_ctx *ctx, struct api_result *res);
/* The detail of every 422 individual_number_not_accepted. */
extern const char api_number_refused[];

#endif
