/* main.c - shikakud: the command line.
 *
 *   shikakud serve [flags]      config -> app -> server -> signal -> drain
 *   shikakud eval [flags]       one evaluate request from stdin, no server
 *   shikakud rules check FILE   validate a rules file
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "db/db.h"
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
#define DRAIN_MS 10000u

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
	"  migrate --db FILE create or upgrade the database schema\n"
	"\n"
	"flags:\n"
	"  -h, --help        this text\n"
	"  --version         print the version\n"
	"\n"
	"environment: SHIKAKU_LISTEN, SHIKAKU_DB, SHIKAKU_RULES, SHIKAKU_NO_AUTH,\n"
	"SHIKAKU_MAX_BODY, SHIKAKU_MAX_HEADER, SHIKAKU_MAX_CONNECTIONS,\n"
	"SHIKAKU_MAX_PER_IP, SHIKAKU_IDLE_TIMEOUT, SHIKAKU_THREADS (see serve\n"
	"--help); a flag wins over its variable.\n";

static const char usage_rules[] =
	"usage: shikakud rules check FILE\n"
	"\n"
	"Validates a rules file: a JSON object of the parameters provisional_end,\n"
	"late_elderly_auto_age, apply_margin_days, ecert_grace_months,\n"
	"stale_after_days (an unknown key is an error).  Prints the values in\n"
	"force and exits 0, or prints the error on stderr and exits 1.\n"
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
	return 0;
}

/* ---- serve ------------------------------------------------------------- */

static int cmd_serve(int argc, char *const argv[])
{
	/* API keys do not exist yet, so no request can be authenticated and
	 * every address but loopback is refused, --no-auth or not.  Once keys
	 * exist this becomes !cfg.no_auth, and only --no-auth stays bound to
	 * loopback (SPEC §8, §9). */
	const bool auth_available = false;
	struct api_ruleset rs;
	struct api_app app;
	struct config cfg;
	struct server *srv;
	struct log_line l;
	char err[256];
	sigset_t stop_signals;
	unsigned left;
	int sig = 0;
	bool v6;

	switch (config_load(&cfg, CONFIG_SERVE, argc, argv, err, sizeof err)) {
	case CONFIG_HELP:
		fputs(config_usage(CONFIG_SERVE), stdout);
		return 0;
	case CONFIG_USAGE:
		return usage_error(config_usage(CONFIG_SERVE), err);
	case CONFIG_OK:
		break;
	}
	v6 = cfg.addr.ss_family == AF_INET6;
	if (!config_listen_is_loopback(&cfg) &&
	    !(auth_available && !cfg.no_auth)) {
		fprintf(stderr,
			"shikakud: refusing to listen on %s%s%s: without API "
			"keys (not available yet) shikakud serves only a "
			"loopback address (127.0.0.0/8, ::1, localhost)\n",
			v6 ? "[" : "", cfg.host, v6 ? "]" : "");
		return 1;
	}
	if (app_init(&app, &rs, cfg.rules, err, sizeof err) != 0) {
		fprintf(stderr, "shikakud: %s\n", err);
		return 1;
	}
	app.db = db_open(cfg.db, err, sizeof err);
	if (!app.db) {
		fprintf(stderr, "shikakud: %s\n", err);
		return 1;
	}

	/* Block the stop signals before any thread exists, so that every
	 * libmicrohttpd thread inherits the mask and sigwait() below is the
	 * only receiver: no handler, no global flag. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	/* a peer closing mid-write must not kill the process */
	signal(SIGPIPE, SIG_IGN);

	srv = server_start(&cfg, &app, err, sizeof err);
	if (srv == NULL) {
		fprintf(stderr, "shikakud: %s\n", err);
		db_close(app.db);
		return 1;
	}
	log_begin(&l, LOG_INFO, "listening");
	log_str(&l, "address", cfg.host);
	log_int(&l, "port", server_port(srv));
	log_str(&l, "version", SHIKAKU_VERSION);
	log_int(&l, "threads", cfg.threads);
	log_bool(&l, "auth", false);
	log_end(&l);

	while (sigwait(&stop_signals, &sig) != 0)
		;
	log_begin(&l, LOG_INFO, "stopping");
	log_str(&l, "signal", sig == SIGINT ? "SIGINT" : "SIGTERM");
	log_end(&l);

	left = server_stop(srv, DRAIN_MS);
	/* Every worker thread has ended: their connections can close. */
	db_close(app.db);
	log_begin(&l, left == 0 ? LOG_INFO : LOG_WARN, "stopped");
	if (left > 0)
		log_int(&l, "unfinished_requests", left);
	log_end(&l);
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
	case CONFIG_HELP:
		fputs(config_usage(CONFIG_EVAL), stdout);
		return 0;
	case CONFIG_USAGE:
		return usage_error(config_usage(CONFIG_EVAL), err);
	case CONFIG_OK:
		break;
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
				   "Payload Too Large",
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
	"usage: shikakud migrate --db FILE\n"
	"\n"
	"Creates the database FILE (mode 0600) or upgrades its schema to this\n"
	"build's version, in one transaction.  serve does the same at start.\n"
	"\n"
	"flags:\n"
	"  --db FILE   the database (env SHIKAKU_DB)\n"
	"  -h, --help  this text\n";

static int cmd_migrate(int argc, char *const argv[])
{
	const char *path = getenv("SHIKAKU_DB");
	char err[256];
	int from = 0, to = 0, i;

	for (i = 0; i < argc; i++) {
		if (is_help(argv[i]))
			return fputs(usage_migrate, stdout), 0;
		if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strncmp(argv[i], "--db=", 5) == 0)
			path = argv[i] + 5;
		else
			return usage_error(usage_migrate, "migrate: bad flag");
	}
	if (!path || !*path)
		return usage_error(usage_migrate, "migrate: --db FILE is needed");
	if (db_migrate(path, &from, &to, err, sizeof err) != 0) {
		fprintf(stderr, "shikakud: %s\n", err);
		return 1;
	}
	printf("%s: schema version %d -> %d\n", path, from, to);
	return 0;
}

/* ---- rules check ------------------------------------------------------- */

static int cmd_rules(int argc, char *const argv[])
{
	static const char *const names[5] = {
		"provisional_end", "late_elderly_auto_age", "apply_margin_days",
		"ecert_grace_months", "stale_after_days"};
	struct api_ruleset rs;
	const struct rules_params *p = &rs.params;
	char err[256];
	char date[11];

	if (argc >= 1 && is_help(argv[0]))
		return fputs(usage_rules, stdout), 0;
	if (argc < 1 || strcmp(argv[0], "check") != 0)
		return usage_error(usage_rules,
				   argc < 1 ? "rules: a subcommand is needed"
					    : "rules: unknown subcommand");
	if (argc >= 2 && is_help(argv[1]))
		return fputs(usage_rules, stdout), 0;
	if (argc != 2)
		return usage_error(usage_rules,
				   "rules check: exactly one FILE is needed");

	if (api_ruleset_load(argv[1], &rs, err, sizeof err) != 0) {
		/* api/ names the file in its message */
		fprintf(stderr, "shikakud: %s\n", err);
		return 1;
	}
	rules_date_format(p->provisional_end, date);
	for (int i = 0; i < 5; i++)
		if (rs.source[i] == NULL)
			rs.source[i] = "default";
	printf("%s: ok\n", argv[1]);
	printf("%s %s (%s)\n", names[0], date, rs.source[0]);
	if (p->late_elderly_auto_age < 0)
		printf("%s null (%s)\n", names[1], rs.source[1]);
	else
		printf("%s %d (%s)\n", names[1], p->late_elderly_auto_age,
		       rs.source[1]);
	printf("%s %d (%s)\n", names[2], p->apply_margin_days, rs.source[2]);
	printf("%s %d (%s)\n", names[3], p->ecert_grace_months, rs.source[3]);
	printf("%s %d (%s)\n", names[4], p->stale_after_days, rs.source[4]);
	return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *cmd = argc >= 2 ? argv[1] : NULL;

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
	if (strcmp(cmd, "serve") == 0)
		return cmd_serve(argc - 2, argv + 2);
	if (strcmp(cmd, "eval") == 0)
		return cmd_eval(argc - 2, argv + 2);
	if (strcmp(cmd, "rules") == 0)
		return cmd_rules(argc - 2, argv + 2);
	if (strcmp(cmd, "migrate") == 0)
		return cmd_migrate(argc - 2, argv + 2);
	fprintf(stderr, "shikakud: unknown command '%s'\n\n", cmd);
	fputs(usage_top, stderr);
	return 2;
}
