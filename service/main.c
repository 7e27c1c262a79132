/* main.c - shikakud: the command line.
 *
 *   shikakud serve [flags]      config -> app -> server -> signal -> drain
 *   shikakud eval [flags]       one evaluate request from stdin, no server
 *   shikakud rules check FILE   validate a rules file
 *   shikakud import [flags] FILE...  bulk load persons or insurers
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/import.h"
#include "api/metrics.h"
#include "api/ratelimit.h"
#include "api/row_memo.h"
#include "db/audit_log.h"
#include "db/db.h"
#include "service/args.h"
#include "service/export_cmd.h"
#include "service/key_cmd.h"
#include "service/rules_diff.h"
#include "rules/rules.h"
#include "service/config.h"
#include "service/log.h"
#include "service/request_id.h"
#include "service/server.h"

#ifndef SHIKAKU_VERSION
#define SHIKAKU_VERSION "dev"
#endif

/* The API description, embedded by the build (build/gen/embed.S). */
extern const char shikaku_openapi_yaml[];
extern const char shikaku_openapi_yaml_end[];

#define EVAL_MAX_BODY (1u << 20)
#define DRAIN_MS      10000u

static const char usage_top[] =
    "usage: shikakud COMMAND [flags]\n"
    "\n"
    "Answers questions about Japanese health-insurance eligibility\n"
    "(マイナ保険証, 資格確認書, insurer) over a REST API.\n"
    "\n"
    "commands:\n"
    "  serve             serve the API over HTTP (see serve --help)\n"
    "  eval              evaluate one request read on stdin (see eval --help)\n"
    "  rules check FILE  validate a rules file\n"
    "  rules diff        who changes answer under a candidate rules file\n"
    "  migrate --db FILE create or upgrade the database (FILE and FILE-audit,\n"
    "                    or a postgresql:// URI)\n"
    "  key create|list|revoke  API keys (see key --help)\n"
    "  import --db FILE FILE...\n"
    "                    bulk load persons or insurers from NDJSON or CSV\n"
    "                    (see import --help)\n"
    "  export --db FILE  the persons or insurers as NDJSON that import reads\n"
    "                    (see export --help)\n"
    "\n"
    "flags:\n"
    "  -h, --help        this text\n"
    "  --version         print the version\n"
    "\n"
    "Every command takes a flag's value as the next word or after '='\n"
    "(--db FILE or --db=FILE).\n"
    "\n"
    "environment: SHIKAKU_LISTEN, SHIKAKU_DB, SHIKAKU_RULES, SHIKAKU_NO_AUTH,\n"
    "SHIKAKU_TLS_CERT, SHIKAKU_TLS_KEY, SHIKAKU_MAX_BODY, ... (every flag of\n"
    "serve has one: see serve --help); a flag wins over its variable.\n";

static const char usage_rules[] =
    "usage: shikakud rules check FILE\n"
    "       shikakud rules diff --db FILE --rules NEW [...]  (see rules diff "
    "--help)\n"
    "\n"
    "Validates a rules file: a JSON object of the parameters provisional_end,\n"
    "late_elderly_auto_age, apply_margin_days, ecert_grace_months,\n"
    "stale_after_days, next_change_horizon_days (an unknown key is an\n"
    "error).  Prints the values in force and exits 0, or prints the error\n"
    "on stderr and exits 1.\n"
    "\n"
    "flags:\n"
    "  -h, --help  this text\n";

static bool is_help(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

static int usage_error(const char *usage, const char *what)
{
	if (what != NULL && what[0] != '\0')
		fprintf(stderr, "shikakud: %s\n\n", what);
	fputs(usage, stderr);
	return 2;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Loads the ruleset into *rs and fills *app around it.  Returns 0, or -1
 * with a one-line message in err. */
static int app_init(struct api_app *app, struct api_ruleset *rs,
		    const char *rules_path, char *err, size_t errlen)
{
	memset(app, 0, sizeof *app);
	if (api_ruleset_load(rules_path, rs, err, errlen) != 0)
		return -1;
	app->ruleset = rs;
	app->openapi_yaml = shikaku_openapi_yaml;
	app->openapi_len =
	    (size_t)(shikaku_openapi_yaml_end - shikaku_openapi_yaml);
	app->version = SHIKAKU_VERSION;
	/* No key is asked of a caller of eval: serve sets its own. */
	app->no_auth = true;
	return 0;
}

/* ---- serve ------------------------------------------------------------- */

/* How long the start-up PRAGMA quick_check may take: a small file is
 * checked whole in milliseconds (400,000 persons, 76 MB, in 0.18 s from
 * the page cache here); a larger one is checked as far as it gets, so that
 * a restart is never held up for long. */
#define QUICK_CHECK_MS 2000u

/* db_on_error's function: a request failed on a store error.  The line
 * holds SQLite's code and message and the request id, never a value. */
static void log_store_error(void *arg, const struct db_error *e)
{
	struct log_line l;

	(void)arg;
	log_begin(&l, LOG_ERROR, "store_error");
	log_str(&l, "request_id", e->request_id);
	log_str(&l, "route", e->route);
	if (e->code) {
		log_int(&l, "code", e->code);
		/* SQLite's code name, or PostgreSQL's SQLSTATE */
		log_str(&l,
			strncmp(e->name, "SQLITE_", 7) == 0 ? "sqlite"
							    : "sqlstate",
			e->name);
		log_strn(&l, "message", e->message, 160);
	} else {
		log_str(&l, "message",
			"no SQLite error was recorded (the database could not "
			"be opened, or memory ran out)");
	}
	if (e->corrupt)
		log_str(&l, "action",
			"the database file is damaged: /readyz answers 503 "
			"until a restart; restore it from a backup (README, "
			"Recovery)");
	log_end(&l);
}

/* What db_open found, and the start-up check: logged before
 * "listening".  A damaged file is served (what can be read still is)
 * but not ready. */
static void log_store_start(struct db *db, const char *path)
{
	struct db_start st;
	struct db_check ck;
	struct log_line l;

	db_start_info(db, &st);
	if (st.was_empty_file) {
		log_begin(&l, LOG_WARN, "database_was_empty");
		log_str(&l, "db", path);
		log_str(&l, "message",
			"the database file existed with 0 bytes and was "
			"initialised as a new, empty database (no persons, "
			"keys or audit rows); if it held data, stop the "
			"server and restore it from a backup");
		log_end(&l);
	} else if (st.schema_from != st.schema_to ||
		   st.audit_schema_from != st.audit_schema_to) {
		log_begin(&l, LOG_INFO, "database_migrated");
		log_int(&l, "schema_from", st.schema_from);
		log_int(&l, "schema_to", st.schema_to);
		log_int(&l, "audit_schema_from", st.audit_schema_from);
		log_int(&l, "audit_schema_to", st.audit_schema_to);
		if (st.audit_rows_moved > 0)
			log_int(&l, "audit_rows_moved", st.audit_rows_moved);
		log_end(&l);
	}
	if (st.audit_file_was_missing) {
		log_begin(&l, LOG_WARN, "audit_file_was_missing");
		log_str(&l, "audit_file", db_audit_path(db));
		log_str(&l, "message",
			"the audit file beside the database was absent or "
			"empty and was initialised as a new, empty audit log; "
			"if it held rows, stop the server and restore both "
			"files from one backup (README, Backups)");
		log_end(&l);
	}
	db_quick_check(db, QUICK_CHECK_MS, &ck);
	switch (ck.result) {
	case DB_CHECK_OK:
		log_begin(&l, LOG_INFO, "store_check");
		log_str(&l, "result", "ok");
		break;
	case DB_CHECK_CUT_SHORT:
		log_begin(&l, LOG_WARN, "store_check");
		log_str(&l, "result", "cut_short");
		log_str(&l, "message",
			"PRAGMA quick_check was stopped when its time was up: "
			"the file is too large to check at every start; run "
			"sqlite3 FILE 'PRAGMA quick_check' on a copy");
		break;
	case DB_CHECK_DAMAGED:
		log_begin(&l, LOG_ERROR, "store_check");
		log_str(&l, "result", "damaged");
		log_int(&l, "problems", ck.problems);
		if (ck.code)
			log_str(&l, "sqlite", db_sqlite_name(ck.code));
		log_strn(&l, "first", ck.first, 200);
		log_str(&l, "action",
			"the database file is damaged: serving what can be "
			"read, /readyz answers 503; restore it from a backup "
			"(README, Recovery)");
		break;
	case DB_CHECK_FAILED:
	default:
		log_begin(&l, LOG_WARN, "store_check");
		log_str(&l, "result", "failed");
		if (ck.code)
			log_str(&l, "sqlite", db_sqlite_name(ck.code));
		log_strn(&l, "message", ck.first, 200);
		break;
	}
	log_str(&l, "check", "quick_check");
	log_int(&l, "ms", ck.elapsed_ms);
	log_int(&l, "budget_ms", QUICK_CHECK_MS);
	log_end(&l);
}

/* Without keys anybody on the network could read everything: only a
 * loopback address may be served without them (SPEC §8, §9).  true with
 * the reason on stderr. */
static bool refuses_no_auth(const struct config *cfg)
{
	bool v6 = cfg->addr.ss_family == AF_INET6;

	if (config_listen_is_loopback(cfg) || !cfg->no_auth)
		return false;
	fprintf(stderr,
		"shikakud: refusing --no-auth on %s%s%s: without API keys "
		"shikakud serves only a loopback address (127.0.0.0/8, ::1, "
		"localhost); make a key with `shikakud key create` and drop "
		"--no-auth\n",
		v6 ? "[" : "", cfg->host, v6 ? "]" : "");
	return true;
}

/* What the request path reads of the configuration, copied into app. */
static void app_configure(struct api_app *app, const struct config *cfg)
{
	app->no_auth = cfg->no_auth;
	app->metrics_need_key = !cfg->metrics_open;
	/* The facility page's sessions and CORS (api/sessions.c,
	 * api/cors.c). */
	app->cors_origins = cfg->cors_origins;
	app->n_cors_origins = cfg->n_cors_origins;
	app->session_idle = cfg->session_idle;
	app->session_max = cfg->session_max;
	app->tls = cfg->tls_cert != NULL;
	/* NULL on no memory: the worklist then decides every row. */
	app->row_memo = api_row_memo_new(API_ROW_MEMO_SLOTS);
}

/* The log line that says the server is up, and where. */
static void log_listening(const struct config *cfg, const struct server *srv)
{
	struct log_line l;

	log_begin(&l, LOG_INFO, "listening");
	log_str(&l, "address", cfg->host);
	log_int(&l, "port", server_port(srv));
	log_str(&l, "version", SHIKAKU_VERSION);
	log_int(&l, "threads", cfg->threads);
	log_bool(&l, "auth", !cfg->no_auth);
	log_bool(&l, "tls", cfg->tls_cert != NULL);
	if (cfg->tls_priorities != NULL)
		log_str(&l, "tls_priorities", cfg->tls_priorities);
	log_end(&l);
}

/* SIGTERM and SIGINT blocked in every thread to come, for sigwait();
 * SIGPIPE ignored: a peer closing mid-write must not kill the process. */
static void block_stop_signals(sigset_t *stop_signals)
{
	sigemptyset(stop_signals);
	sigaddset(stop_signals, SIGTERM);
	sigaddset(stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, stop_signals, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Drains and stops the server, then what it used, in that order. */
static void serve_stop(struct server *srv, struct api_app *app)
{
	struct log_line l;
	unsigned left = server_stop(srv, DRAIN_MS);

	log_buffering_stop();
	/* Every worker thread has ended: what they queued for the audit log
	 * is written, then their connections can close. */
	audit_log_stop(app->audit);
	db_close(app->db);
	api_rate_free(app->rate);
	api_row_memo_free(app->row_memo);
	log_begin(&l, left == 0 ? LOG_INFO : LOG_WARN, "stopped");
	if (left > 0)
		log_int(&l, "unfinished_requests", left);
	log_end(&l);
}

/* The store's error log, its start line and the person cache of
 * --person-cache-mb, warming from the store; on failure db is closed. */
static int store_start(struct db *db, const struct config *cfg)
{
	db_on_error(db, log_store_error, NULL);
	log_store_start(db, cfg->db);
	unsigned mb = config_person_cache_mb(cfg);

	if (db_person_cache_configure(db, (size_t)mb << 20) == 0 &&
	    db_person_cache_warm(db) == 0)
		return 0;
	fprintf(stderr, "shikakud: no memory for --person-cache-mb %u\n", mb);
	db_close(db);
	return -1;
}

/* The audit writer of db (PostgreSQL: a table of the same database). */
static struct audit_log *audit_start(struct db *db, const struct config *cfg,
				     char *err, size_t errlen)
{
	struct audit_log *a =
	    audit_log_start(db_audit_path(db) ? db_audit_path(db) : db_path(db),
			    cfg->audit_retention_days, err, errlen);

	if (a)
		audit_log_set_max_bytes(a, cfg->audit_max_bytes);
	return a;
}

static int cmd_serve(int argc, char *const argv[])
{
	struct api_metrics metrics;
	struct api_ruleset rs;
	struct api_app app;
	struct config cfg;
	struct server *srv;
	struct log_line l;
	char err[256];
	sigset_t stop_signals;
	int sig = 0;

	switch (config_load(&cfg, CONFIG_SERVE, argc, argv, err, sizeof err)) {
	case CONFIG_HELP: fputs(config_usage(CONFIG_SERVE), stdout); return 0;
	case CONFIG_USAGE: return usage_error(config_usage(CONFIG_SERVE), err);
	case CONFIG_OK: break;
	}
	if (refuses_no_auth(&cfg))
		return 1;
	if (app_init(&app, &rs, cfg.rules, err, sizeof err) != 0) {
		fprintf(stderr, "shikakud: %s\n", err);
		return 1;
	}
	/* Block the stop signals before any thread exists, so that every
	 * thread (libmicrohttpd's, the audit writer) inherits the mask and
	 * sigwait() below is the only receiver: no handler, no global flag. */
	block_stop_signals(&stop_signals);

	app.db = db_open(cfg.db, err, sizeof err);
	if (!app.db) {
		fprintf(stderr, "shikakud: %s\n", err);
		return 1;
	}
	if (store_start(app.db, &cfg) != 0)
		return 1;
	app_configure(&app, &cfg);
	api_metrics_init(&metrics, now_seconds());
	metrics.store = app.db;
	metrics.row_memo = app.row_memo;
	app.metrics = &metrics;
	app.audit = audit_start(app.db, &cfg, err, sizeof err);
	if (!app.audit) {
		fprintf(stderr, "shikakud: audit log: %s\n", err);
		db_close(app.db);
		api_row_memo_free(app.row_memo);
		return 1;
	}
	if (cfg.rate_limit > 0 &&
	    !(app.rate = api_rate_new(cfg.rate_limit, cfg.rate_burst
							  ? cfg.rate_burst
							  : cfg.rate_limit))) {
		fprintf(stderr, "shikakud: out of memory\n");
		audit_log_stop(app.audit);
		db_close(app.db);
		return 1;
	}

	/* request lines leave in batches (service/log.h); without the
	 * flusher thread they are written one by one */
	(void)log_buffering_start();
	srv = server_start(&cfg, &app, err, sizeof err);
	if (srv == NULL) {
		log_buffering_stop();
		fprintf(stderr, "shikakud: %s\n", err);
		audit_log_stop(app.audit);
		db_close(app.db);
		api_rate_free(app.rate);
		api_row_memo_free(app.row_memo);
		return 1;
	}
	log_listening(&cfg, srv);

	while (sigwait(&stop_signals, &sig) != 0)
		;
	log_begin(&l, LOG_INFO, "stopping");
	log_str(&l, "signal", sig == SIGINT ? "SIGINT" : "SIGTERM");
	log_end(&l);

	serve_stop(srv, &app);
	return 0;
}

/* ---- eval -------------------------------------------------------------- */

/* Reads all of fd into a new buffer of at most max bytes.  Returns 0,
 * 1 when there was more than max, or -1 on a read error (errno set). */
static int read_all(int fd, size_t max, char **out, size_t *out_len)
{
	size_t cap = 64 << 10, len = 0;
	char *buf = malloc(cap + 1);

	if (buf == NULL)
		return -1;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *p;

			if (cap > max) {
				free(buf);
				return 1;
			}
			cap *= 2;
			p = realloc(buf, cap + 1);
			if (p == NULL) {
				free(buf);
				return -1;
			}
			buf = p;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		free(buf);
		return 1;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return 0;
}

static int cmd_eval(int argc, char *const argv[])
{
	struct api_kv lang = {"lang", "en"};
	struct api_response resp;
	struct api_request req;
	struct api_ruleset rs;
	struct api_app app;
	struct config cfg;
	char id[REQUEST_ID_MAX + 1];
	char err[256];
	char *body = NULL;
	size_t body_len = 0;
	int rc;

	switch (config_load(&cfg, CONFIG_EVAL, argc, argv, err, sizeof err)) {
	case CONFIG_HELP: fputs(config_usage(CONFIG_EVAL), stdout); return 0;
	case CONFIG_USAGE: return usage_error(config_usage(CONFIG_EVAL), err);
	case CONFIG_OK: break;
	}
	if (app_init(&app, &rs, cfg.rules, err, sizeof err) != 0) {
		fprintf(stderr, "shikakud: %s\n", err);
		return 1;
	}

	memset(&resp, 0, sizeof resp);
	memset(&req, 0, sizeof req);
	req.now = now_seconds();
	request_id_new(id, req.now);
	rc = read_all(STDIN_FILENO, EVAL_MAX_BODY, &body, &body_len);
	if (rc < 0) {
		fprintf(stderr, "shikakud: reading stdin: %s\n",
			strerror(errno));
		return 1;
	}
	if (rc > 0) {
		api_problem_simple(&resp, 413, "payload_too_large",
				   "The request body is larger than 1048576 "
				   "bytes.");
	} else {
		req.method = "POST";
		req.path = "/v1/eligibility:evaluate";
		req.content_type = "application/json";
		if (cfg.lang_en) {
			req.query = &lang;
			req.n_query = 1;
		}
		req.request_id = id;
		req.body = body_len > 0 ? body : NULL;
		req.body_len = body_len;
		api_handle(&app, &req, &resp);
	}
	if (resp.body != NULL)
		fwrite(resp.body, 1, resp.body_len, stdout);
	fputc('\n', stdout);
	rc = resp.status == 200 ? 0 : 1;
	if (fflush(stdout) != 0)
		rc = 1;
	api_response_fini(&resp);
	free(body);
	return rc;
}

/* ---- migrate ----------------------------------------------------------- */

static const char usage_migrate[] =
    "usage: shikakud migrate --db FILE|URI\n"
    "\n"
    "Creates the database FILE and its audit log FILE-audit beside it (both\n"
    "mode 0600) or upgrades their schemas to this build's versions; a\n"
    "database that still holds its audit log has the rows moved into\n"
    "FILE-audit (copied, then dropped; safe to run again after a crash).\n"
    "serve does the same at start.  The two files are one database: back\n"
    "them up, restore and move them together.\n"
    "A postgresql:// or postgres:// URI names a PostgreSQL database: its\n"
    "numbered migrations run in one transaction under an advisory lock (two\n"
    "replicas starting at once are safe); the password (URI, PGPASSWORD or\n"
    "~/.pgpass) is never printed.\n"
    "\n"
    "flags:\n"
    "  --db FILE|URI  the database (env SHIKAKU_DB)\n"
    "  -h, --help  this text\n";

/* --db FILE, the only flag of migrate: into *(const char **)p. */
static int db_flag(void *p, int i, const char *value, char *err, size_t errlen)
{
	if (i == ARGS_POSITIONAL) {
		snprintf(err, errlen, "unexpected argument '%.60s'", value);
		return -1;
	}
	*(const char **)p = value;
	return 0;
}

static int cmd_migrate(int argc, char *const argv[])
{
	static const struct args_flag flags[] = {{"--db", true}};
	const char *path = getenv("SHIKAKU_DB");
	struct db_start st;
	char err[512], apath[4096], shown[4096];

	switch (
	    args_parse(argc, argv, flags, 1, db_flag, &path, err, sizeof err)) {
	case ARGS_HELP: return fputs(usage_migrate, stdout), 0;
	case ARGS_USAGE: return usage_error(usage_migrate, err);
	case ARGS_OK: break;
	}
	if (!path || !*path)
		return usage_error(usage_migrate,
				   "migrate: --db FILE is needed");
	if (db_migrate_all(path, &st, err, sizeof err) != 0 ||
	    db_audit_path_for(path, apath, sizeof apath) != 0) {
		fprintf(stderr, "shikakud: %s\n", err);
		return 1;
	}
	/* a URI's password is never printed (SPEC §7) */
	db_target_redact(path, shown, sizeof shown);
	printf("%s: schema version %d -> %d\n", shown, st.schema_from,
	       st.schema_to);
	if (db_is_uri(path)) { /* the audit log: a table of the same database */
		printf("%s: audit schema version %d -> %d\n", shown,
		       st.audit_schema_from, st.audit_schema_to);
		return 0;
	}
	printf("%s: schema version %d -> %d", apath, st.audit_schema_from,
	       st.audit_schema_to);
	if (st.audit_rows_moved > 0)
		printf(" (%lld audit rows moved from %s)", st.audit_rows_moved,
		       path);
	printf("\n");
	return 0;
}

/* ---- import ------------------------------------------------------------ */

static const char usage_import[] =
    "usage: shikakud import --db FILE [flags] FILE...\n"
    "\n"
    "Loads persons (or, with --insurers, insurer registry rows) into the\n"
    "database, each FILE as one import in one transaction: the same\n"
    "validation and answer as POST /v1/persons:import.  FILE '-' is stdin.\n"
    "The file is streamed: its size does not matter.\n"
    "\n"
    "flags:\n"
    "  --db FILE          the database (env SHIKAKU_DB); created if absent\n"
    "  --insurers         the files hold insurers, not persons\n"
    "  --mode MODE        all_or_nothing (default: a bad line stores\n"
    "                     nothing) or best_effort (good lines are kept)\n"
    "  --format FORMAT    ndjson or csv; default from the extension (.csv,\n"
    "                     .ndjson, .jsonl); needed for stdin\n"
    "  --charset CHARSET  utf-8 (default; a BOM is allowed) or shift_jis\n"
    "                     (CP932, as Excel saves CSV in Japan)\n"
    "  -h, --help         this text\n"
    "\n"
    "Prints each file's answer as one JSON line on stdout; on a terminal,\n"
    "a progress bar on stderr, else one summary line per file.  Exit 0 when\n"
    "every file was stored, 1 when one was refused (a bad line with\n"
    "all_or_nothing, an individual number, a bad header) or failed, 2 on a\n"
    "usage error.\n";

struct import_cli {
	const char *db;
	struct api_import_opts opts;
	bool format_given;
	bool tty; /* stderr is a terminal: draw the progress bar */
};

static double monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One line of the bar, redrawn in place: percent of the bytes when the
 * size is known, lines, lines per second. */
static void import_progress(const char *name, size_t done, long long total,
			    size_t lines, double elapsed)
{
	char bar[31];
	int filled, i;
	double rate = elapsed > 0 ? (double)lines / elapsed : 0;

	if (total > 0) {
		filled = (int)(30.0 * (double)done / (double)total);
		for (i = 0; i < 30; i++)
			bar[i] = i < filled ? '#' : '.';
		bar[30] = '\0';
		fprintf(stderr,
			"\r%.40s [%s] %3d%% %zu lines %.0f lines/s\033[K", name,
			bar, (int)(100.0 * (double)done / (double)total), lines,
			rate);
	} else {
		fprintf(stderr, "\r%.40s %.1f MiB %zu lines %.0f lines/s\033[K",
			name, (double)done / (1 << 20), lines, rate);
	}
	fflush(stderr);
}

/* The format a file's name says (.csv, .ndjson, .jsonl); -1 with the
 * reason on stderr when it says none. */
static int format_from_name(const char *name, enum api_import_format *format)
{
	const char *ext = strrchr(name, '.');

	if (ext && strcasecmp(ext, ".csv") == 0) {
		*format = API_IMPORT_CSV;
		return 0;
	}
	if (ext && (strcasecmp(ext, ".ndjson") == 0 ||
		    strcasecmp(ext, ".jsonl") == 0)) {
		*format = API_IMPORT_NDJSON;
		return 0;
	}
	fprintf(stderr,
		"shikakud: %s: say --format ndjson or csv (the name does not "
		"end in .csv, .ndjson or .jsonl)\n",
		name);
	return -1;
}

/* An import's answer on stdout, and one line of counts on stderr. */
static void import_report(const struct import_cli *cli, const char *name,
			  const struct api_response *resp,
			  const struct api_import_summary *sum, double seconds)
{
	if (cli->tty)
		fputs("\r\033[K", stderr);
	if (resp->body)
		fwrite(resp->body, 1, resp->body_len, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	if (resp->status == 200)
		fprintf(stderr,
			"%s: stored: %zu lines, %zu inserted, %zu updated, %zu "
			"unchanged, %zu rejected (%.1f s)\n",
			name, sum->lines, sum->inserted, sum->updated,
			sum->unchanged, sum->rejected, seconds);
	else
		fprintf(stderr,
			"%s: NOT stored (status %d): %zu lines, %zu rejected; "
			"see the answer on stdout\n",
			name, resp->status, sum->lines, sum->rejected);
}

/* Imports one file.  Returns 0 when it was stored, 1 otherwise. */
static int import_file(const struct import_cli *cli, const char *name)
{
	static char chunk[256 << 10];
	struct api_import_opts o = cli->opts;
	struct api_import_summary sum = {0};
	struct api_import *im = NULL;
	struct api_response resp;
	bool is_stdin = strcmp(name, "-") == 0;
	double start = monotonic_seconds(), last = 0, now;
	long long total = -1;
	size_t done = 0;
	struct stat st;
	ssize_t n;
	int fd = -1, rc = 1;

	memset(&resp, 0, sizeof resp);
	if (!cli->format_given && format_from_name(name, &o.format) != 0)
		goto out;
	fd = is_stdin ? STDIN_FILENO : open(name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "shikakud: %s: %s\n", name, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		total = (long long)st.st_size;
	o.now = now_seconds();
	o.today = rules_date_tokyo((int64_t)o.now);
	im = api_import_new(cli->db, &o, &resp);
	if (!im)
		goto answer;
	for (;;) {
		n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "%sshikakud: %s: %s: nothing stored\n",
				cli->tty ? "\r\033[K" : "", name,
				strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		done += (size_t)n;
		if (!api_import_feed(im, chunk, (size_t)n))
			break; /* refused: the rest does not matter */
		now = monotonic_seconds();
		if (cli->tty && now - last >= 0.1) {
			last = now;
			import_progress(name, done, total, api_import_lines(im),
					now - start);
		}
	}
	api_import_finish(im, &resp, &sum);
	im = NULL;
answer:
	import_report(cli, name, &resp, &sum, monotonic_seconds() - start);
	rc = resp.status == 200 ? 0 : 1;
out:
	api_import_free(im);
	api_response_fini(&resp);
	if (fd >= 0 && !is_stdin)
		close(fd);
	return rc;
}

enum { IF_DB, IF_MODE, IF_FORMAT, IF_CHARSET, IF_INSURERS };
static const struct args_flag import_flags[] = {{"--db", true},
						{"--mode", true},
						{"--format", true},
						{"--charset", true},
						{"--insurers", false}};

/* The values of --mode, --format and --charset, in the order of the
 * members of enum api_import_mode, _format and _charset. */
static const char *const import_values[][2] = {
    [IF_MODE] = {"all_or_nothing", "best_effort"},
    [IF_FORMAT] = {"ndjson", "csv"},
    [IF_CHARSET] = {"utf-8", "shift_jis"}};

/* The member that v names for flag i (a charset in any case), -1 for
 * none; the values into err then. */
static int import_value(int i, const char *v, char *err, size_t errlen)
{
	for (int k = 0; k < 2; k++)
		if ((i == IF_CHARSET ? strcasecmp
				     : strcmp)(v, import_values[i][k]) == 0)
			return k;
	snprintf(err, errlen, "import: %s is %s or %s", import_flags[i].name,
		 import_values[i][0], import_values[i][1]);
	return -1;
}

struct import_read {
	struct import_cli *cli;
	const char **files; /* argc of them at most */
	int n_files;
};

static int import_arg(void *p, int i, const char *v, char *err, size_t errlen)
{
	struct import_read *ir = p;
	struct import_cli *cli = ir->cli;
	int k;

	if (i == ARGS_POSITIONAL) {
		ir->files[ir->n_files++] = v;
		return 0;
	}
	if (ir->n_files > 0) {
		snprintf(err, errlen, "import: flags come before the files");
		return -1;
	}
	if (i == IF_INSURERS) {
		cli->opts.kind = API_IMPORT_INSURERS;
		return 0;
	}
	if (i == IF_DB) {
		cli->db = v;
		return 0;
	}
	k = import_value(i, v, err, errlen);
	if (k < 0)
		return -1;
	if (i == IF_MODE) {
		cli->opts.mode = (enum api_import_mode)k;
	} else if (i == IF_FORMAT) {
		cli->opts.format = (enum api_import_format)k;
		cli->format_given = true;
	} else {
		cli->opts.charset = (enum api_import_charset)k;
	}
	return 0;
}

static int cmd_import(int argc, char *const argv[])
{
	struct import_cli cli;
	struct import_read ir = {&cli, NULL, 0};
	char err[256];
	int i, from, to, rc = 0;

	memset(&cli, 0, sizeof cli);
	cli.db = getenv("SHIKAKU_DB");
	cli.opts.kind = API_IMPORT_PERSONS;
	ir.files = calloc((size_t)argc + 1, sizeof *ir.files);
	if (!ir.files) {
		fprintf(stderr, "shikakud: out of memory\n");
		return 1;
	}
	switch (args_parse(argc, argv, import_flags,
			   sizeof import_flags / sizeof import_flags[0],
			   import_arg, &ir, err, sizeof err)) {
	case ARGS_HELP: rc = fputs(usage_import, stdout) < 0; goto out;
	case ARGS_USAGE: rc = usage_error(usage_import, err); goto out;
	case ARGS_OK: break;
	}
	if (!cli.db || !*cli.db) {
		rc = usage_error(usage_import, "import: --db FILE is needed");
	} else if (ir.n_files == 0) {
		rc = usage_error(usage_import, "import: name at least one FILE "
					       "('-' = stdin)");
	} else if (cli.opts.charset == API_IMPORT_SHIFT_JIS &&
		   cli.format_given && cli.opts.format != API_IMPORT_CSV) {
		rc = usage_error(usage_import,
				 "import: shift_jis is for CSV only");
	} else if (db_migrate(cli.db, &from, &to, err, sizeof err) != 0) {
		/* the schema must exist before the import's connection opens */
		fprintf(stderr, "shikakud: %s\n", err);
		rc = 1;
	} else {
		cli.tty = isatty(STDERR_FILENO) == 1;
		for (i = 0; i < ir.n_files; i++)
			rc |= import_file(&cli, ir.files[i]);
	}
out:
	free(ir.files);
	return rc;
}

/* ---- rules check ------------------------------------------------------- */

/* The one FILE of rules check, into *(const char **)p. */
static int one_file(void *p, int i, const char *value, char *err, size_t errlen)
{
	const char **file = p;

	(void)i; /* no flags: only positional words come here */
	if (*file) {
		snprintf(err, errlen,
			 "rules check: exactly one FILE is needed");
		return -1;
	}
	*file = value;
	return 0;
}

static int cmd_rules(int argc, char *const argv[])
{
	static const char *const names[6] = {
	    "provisional_end",   "late_elderly_auto_age",
	    "apply_margin_days", "ecert_grace_months",
	    "stale_after_days",  "next_change_horizon_days"};
	struct api_ruleset rs;
	const struct rules_params *p = &rs.params;
	const char *file = NULL;
	char err[256];
	char date[11];

	if (argc >= 1 && is_help(argv[0]))
		return fputs(usage_rules, stdout), 0;
	if (argc >= 1 && strcmp(argv[0], "diff") == 0)
		return rules_diff_main(argc - 1, argv + 1);
	if (argc < 1 || strcmp(argv[0], "check") != 0)
		return usage_error(usage_rules,
				   argc < 1 ? "rules: a subcommand is needed"
					    : "rules: unknown subcommand");
	switch (args_parse(argc - 1, argv + 1, NULL, 0, one_file, &file, err,
			   sizeof err)) {
	case ARGS_HELP: return fputs(usage_rules, stdout), 0;
	case ARGS_USAGE: return usage_error(usage_rules, err);
	case ARGS_OK: break;
	}
	if (!file)
		return usage_error(usage_rules,
				   "rules check: exactly one FILE is needed");

	if (api_ruleset_load(file, &rs, err, sizeof err) != 0) {
		/* api/ names the file in its message */
		fprintf(stderr, "shikakud: %s\n", err);
		return 1;
	}
	rules_date_format(p->provisional_end, date);
	for (int i = 0; i < 6; i++)
		if (rs.source[i] == NULL)
			rs.source[i] = "default";
	printf("%s: ok\n", file);
	printf("%s %s (%s)\n", names[0], date, rs.source[0]);
	if (p->late_elderly_auto_age < 0)
		printf("%s null (%s)\n", names[1], rs.source[1]);
	else
		printf("%s %d (%s)\n", names[1], p->late_elderly_auto_age,
		       rs.source[1]);
	printf("%s %d (%s)\n", names[2], p->apply_margin_days, rs.source[2]);
	printf("%s %d (%s)\n", names[3], p->ecert_grace_months, rs.source[3]);
	printf("%s %d (%s)\n", names[4], p->stale_after_days, rs.source[4]);
	printf("%s %d (%s)\n", names[5], p->next_change_horizon_days,
	       rs.source[5]);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* The commands: each runs on the arguments after its name (key's keep
 * it: its own subcommand follows). */
static const struct command {
	const char *name;
	int (*run)(int argc, char *const argv[]);
	int skip; /* of argv */
} commands[] = {{"serve", cmd_serve, 2},       {"eval", cmd_eval, 2},
		{"rules", cmd_rules, 2},       {"migrate", cmd_migrate, 2},
		{"key", key_cmd_main, 1},      {"import", cmd_import, 2},
		{"export", export_cmd_main, 2}};

int main(int argc, char **argv)
{
	const char *cmd = argc >= 2 ? argv[1] : NULL;

	db_global_init();
	api_json_arena_install();
	if (cmd == NULL)
		return usage_error(usage_top, "a command is needed");
	if (is_help(cmd)) {
		fputs(usage_top, stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("shikakud %s\n", SHIKAKU_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return commands[i].run(argc - commands[i].skip,
					       argv + commands[i].skip);
	fprintf(stderr, "shikakud: unknown command '%s'\n\n", cmd);
	fputs(usage_top, stderr);
	return 2;
}
