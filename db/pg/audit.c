/* audit.c - the PostgreSQL store's audit rows: the table `audit` (and
 * `audit_person`, who was named by which row) of the same database, from
 * every replica.
 *
 * A batch of the writer (db/audit_log.c) is one statement, hence one
 * transaction: it takes its seq numbers from the one-row audit_counter
 * (002_audit_order.sql), whose row lock orders the replicas' batches, and
 * inserts all its rows and their audit_person rows from arrays.  Queries
 * filter time and key directly (the replicas' clocks need not agree, so
 * time is not assumed to grow with seq), in seq order from the cursor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/internal.h"

/* Rows deleted per statement by db_audit_expire: short transactions. */
#define EXPIRE_CHUNK 5000

/* ---- array literals --------------------------------------------------------- */

/* A growing text (a PostgreSQL array literal being written). */
struct text {
	char *s;
	size_t len, cap;
	bool oom;
};

static void put(struct text *t, const char *s, size_t n)
{
	char *p;
	size_t cap;

	if (t->oom)
		return;
	if (t->len + n + 1 > t->cap) {
		cap = t->cap ? t->cap : 256;
		while (cap < t->len + n + 1)
			cap *= 2;
		p = realloc(t->s, cap);
		if (!p) {
			t->oom = true;
			return;
		}
		t->s = p;
		t->cap = cap;
	}
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
}

/* Appends one element (NULL: SQL NULL), quoted: '"' and '\' escaped. */
static void elem(struct text *t, const char *v, size_t n)
{
	size_t i, from = 0;

	put(t, t->len > 1 ? "," : "", t->len > 1 ? 1 : 0);
	if (!v) {
		put(t, "NULL", 4);
		return;
	}
	put(t, "\"", 1);
	for (i = 0; i < n; i++) {
		if (v[i] == '"' || v[i] == '\\') {
			put(t, v + from, i - from);
			put(t, "\\", 1);
			from = i;
		}
	}
	put(t, v + from, n - from);
	put(t, "\"", 1);
}

static void elem_str(struct text *t, const char *v)
{
	elem(t, v, v ? strlen(v) : 0);
}

static void elem_num(struct text *t, long long v)
{
	char n[24];

	snprintf(n, sizeof n, "%lld", v);
	elem_str(t, n);
}

/* ---- insert ------------------------------------------------------------------- */

enum {
	A_TIME,
	A_KEY,
	A_REQUEST,
	A_METHOD,
	A_ROUTE,
	A_IDS,
	A_STATUS,
	A_ABSENT,
	A_PID,     /* audit_person: the id */
	A_PID_ROW, /* and its row (1 = the batch's first) */
	A_COUNT
};

struct batch {
	struct text a[A_COUNT];
	long long rows;
};

static enum db_result add_row(void *arg, const struct db_audit_out *row)
{
	struct batch *b = arg;
	size_t i;

	b->rows++;
	elem_str(&b->a[A_TIME], row->when);
	elem_str(&b->a[A_KEY], row->key_id[0] ? row->key_id : NULL);
	elem_str(&b->a[A_REQUEST], row->request_id);
	elem_str(&b->a[A_METHOD], row->method);
	elem_str(&b->a[A_ROUTE], row->route);
	elem(&b->a[A_IDS], row->ids_text, row->ids_len);
	elem_num(&b->a[A_STATUS], row->status);
	elem_num(&b->a[A_ABSENT], row->absent);
	for (i = 0; i < row->n_ids; i++) {
		elem_str(&b->a[A_PID], row->ids[i]);
		elem_num(&b->a[A_PID_ROW], b->rows);
	}
	return DB_OK;
}

enum db_result dbpg_audit_insert(struct db_conn *c,
				 const struct audit_record *recs, size_t n)
{
	const char *vals[A_COUNT + 1];
	struct batch b;
	enum db_result res;
	char rows[24];
	PGresult *r;
	int i;

	memset(&b, 0, sizeof b);
	for (i = 0; i < A_COUNT; i++)
		put(&b.a[i], "{", 1);
	res = db_audit_rows(recs, n, add_row, &b);
	for (i = 0; i < A_COUNT; i++) {
		put(&b.a[i], "}", 1);
		if (b.a[i].oom)
			res = DB_ERROR;
		vals[i + 1] = b.a[i].s;
	}
	if (res == DB_OK && b.rows > 0) {
		snprintf(rows, sizeof rows, "%lld", b.rows);
		vals[0] = rows;
		r = dbpg_exec(c, DBPG_STMT_AUDIT_INSERT, A_COUNT + 1, vals);
		res = dbpg_result(c, r);
		PQclear(r);
	}
	for (i = 0; i < A_COUNT; i++)
		free(b.a[i].s);
	return res;
}

/* ---- read ----------------------------------------------------------------------- */

/* pg_total_relation_size stats every file of the two tables and their
 * indexes (about 0.5 ms of the server's CPU): measured at most once per
 * DBPG_AUDIT_BYTES_EVERY_MS on a connection, not after each batch (the
 * writer asks after each one); in between, the last figure. */
#define DBPG_AUDIT_BYTES_EVERY_MS 1000

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

enum db_result dbpg_audit_bytes(struct db_conn *c, long long *bytes)
{
	double now = mono_ms();
	enum db_result res;
	PGresult *r;

	if (c->pg.audit_bytes_at > 0 &&
	    now - c->pg.audit_bytes_at < DBPG_AUDIT_BYTES_EVERY_MS) {
		*bytes = c->pg.audit_bytes;
		return DB_OK;
	}
	r = dbpg_exec(c, DBPG_STMT_AUDIT_BYTES, 0, NULL);
	res = dbpg_result(c, r);
	if (res == DB_OK && PQntuples(r) == 1) {
		*bytes = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		c->pg.audit_bytes = *bytes;
		c->pg.audit_bytes_at = now;
	} else if (res == DB_OK) {
		res = DB_ERROR;
	}
	PQclear(r);
	return res;
}

static void col(const PGresult *r, int row, int i, char *dst, size_t n)
{
	snprintf(dst, n, "%s",
		 PQgetisnull(r, row, i) ? "" : PQgetvalue(r, row, i));
}

enum db_result dbpg_audit_query(struct db_conn *c,
				const struct db_audit_filter *f,
				int (*fn)(const struct db_audit_row *, void *),
				void *arg)
{
	enum dbpg_stmt id = f->person_id ? DBPG_STMT_AUDIT_QUERY_PERSON
			    : f->key_id  ? DBPG_STMT_AUDIT_QUERY_KEY
					 : DBPG_STMT_AUDIT_QUERY;
	char after[24], limit[16];
	/* "" sorts before every time, "9" after (COLLATE "C"). */
	const char *vals[6] = {after,
			       f->since ? f->since : "",
			       f->until ? f->until : "9",
			       limit,
			       f->key_id,
			       f->person_id};
	struct db_audit_row row;
	enum db_result res;
	PGresult *r;
	int i;

	snprintf(after, sizeof after, "%lld", (long long)f->after_seq);
	snprintf(limit, sizeof limit, "%d", f->limit > 0 ? f->limit : 1);
	r = dbpg_exec(c, id, id == DBPG_STMT_AUDIT_QUERY ? 4 : 6, vals);
	res = dbpg_result(c, r);
	for (i = 0; res == DB_OK && i < PQntuples(r); i++) {
		memset(&row, 0, sizeof row);
		row.seq = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		col(r, i, 1, row.time, sizeof row.time);
		col(r, i, 2, row.key_id, sizeof row.key_id);
		col(r, i, 3, row.request_id, sizeof row.request_id);
		col(r, i, 4, row.method, sizeof row.method);
		col(r, i, 5, row.route, sizeof row.route);
		row.person_ids = PQgetvalue(r, i, 6);
		row.status = atoi(PQgetvalue(r, i, 7));
		row.absent_ids = strtoll(PQgetvalue(r, i, 8), NULL, 10);
		if (fn(&row, arg) != 0)
			break;
	}
	PQclear(r);
	return res;
}

/* ---- retention ----------------------------------------------------------------- */

enum db_result dbpg_audit_expire(struct db_conn *c, const char *before,
				 long long *deleted)
{
	const char *vals[2] = {before, NULL};
	char chunk[16];
	long long n, total = 0;
	enum db_result res;
	PGresult *r;

	snprintf(chunk, sizeof chunk, "%d", EXPIRE_CHUNK);
	vals[1] = chunk;
	/* One short transaction per chunk, until a chunk comes back short;
	 * replicas expiring at once delete each row once. */
	do {
		r = dbpg_exec(c, DBPG_STMT_AUDIT_EXPIRE, 2, vals);
		res = dbpg_result(c, r);
		n = res == DB_OK && PQntuples(r) == 1
			? strtoll(PQgetvalue(r, 0, 0), NULL, 10)
			: 0;
		PQclear(r);
		total += n;
	} while (res == DB_OK && n == EXPIRE_CHUNK);
	if (deleted)
		*deleted = total;
	return res;
}
