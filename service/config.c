/* config.c - see config.h. */
#include "service/config.h"

#include "base/url.h"
#include "db/db.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <limits.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service/args.h"

enum opt_id {
	OPT_LISTEN,
	OPT_DB,
	OPT_RULES,
	OPT_NO_AUTH,
	OPT_MAX_BODY,
	OPT_MAX_IMPORT_BODY,
	OPT_MAX_HEADER,
	OPT_MAX_CONNECTIONS,
	OPT_MAX_PER_IP,
	OPT_IDLE_TIMEOUT,
	OPT_HEADER_TIMEOUT,
	OPT_BODY_MIN_RATE,
	OPT_THREADS,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_AUDIT_RETENTION_DAYS,
	OPT_IMPORT_TIMEOUT,
	OPT_IMPORT_MIN_RATE,
	OPT_IMPORT_RATE_WINDOW,
	OPT_METRICS_AUTH,
	OPT_METRICS_OPEN,
	OPT_TLS_PRIORITIES,
	OPT_LANG,
	OPT_CORS_ORIGINS,
	OPT_SESSION_IDLE_SECONDS,
	OPT_SESSION_MAX_SECONDS,
	OPT_RATE_LIMIT,
	OPT_RATE_BURST,
	OPT_AUDIT_MAX_SIZE,
	OPT_PERSON_CACHE_MB
};

struct opt {
	const char *flag;
	const char *env; /* NULL: no variable */
	enum opt_id id;
	bool takes_value;
	unsigned cmds; /* 1u << enum config_cmd */
};

#define SERVE (1u << CONFIG_SERVE)
#define EVAL  (1u << CONFIG_EVAL)

/* An entry: the flag, the variable SHIKAKU_<ID> and the enum member
 * OPT_<ID>; SERVE_OPT for most, serve's, with a value. */
/* clang-format off */
#define OPT(flag, ID, takes_value, cmds) \
	{flag, "SHIKAKU_" #ID, OPT_##ID, takes_value, cmds}
#define SERVE_OPT(flag, ID) OPT(flag, ID, true, SERVE)
/* clang-format on */

static const struct opt opts[] = {
    SERVE_OPT("--listen", LISTEN),
    SERVE_OPT("--db", DB),
    OPT("--rules", RULES, true, SERVE | EVAL),
    OPT("--no-auth", NO_AUTH, false, SERVE),
    SERVE_OPT("--max-body", MAX_BODY),
    SERVE_OPT("--max-import-body", MAX_IMPORT_BODY),
    SERVE_OPT("--max-header", MAX_HEADER),
    SERVE_OPT("--max-connections", MAX_CONNECTIONS),
    SERVE_OPT("--max-per-ip", MAX_PER_IP),
    SERVE_OPT("--idle-timeout", IDLE_TIMEOUT),
    SERVE_OPT("--header-timeout", HEADER_TIMEOUT),
    SERVE_OPT("--body-min-rate", BODY_MIN_RATE),
    SERVE_OPT("--threads", THREADS),
    SERVE_OPT("--tls-cert", TLS_CERT),
    SERVE_OPT("--tls-key", TLS_KEY),
    SERVE_OPT("--audit-retention-days", AUDIT_RETENTION_DAYS),
    SERVE_OPT("--import-timeout", IMPORT_TIMEOUT),
    SERVE_OPT("--import-min-rate", IMPORT_MIN_RATE),
    SERVE_OPT("--import-rate-window", IMPORT_RATE_WINDOW),
    OPT("--metrics-auth", METRICS_AUTH, false, SERVE),
    OPT("--metrics-open", METRICS_OPEN, false, SERVE),
    SERVE_OPT("--tls-priorities", TLS_PRIORITIES),
    {"--lang", NULL, OPT_LANG, true, EVAL},
    SERVE_OPT("--cors-origin", CORS_ORIGINS),
    SERVE_OPT("--session-idle-seconds", SESSION_IDLE_SECONDS),
    SERVE_OPT("--session-max-seconds", SESSION_MAX_SECONDS),
    SERVE_OPT("--rate-limit", RATE_LIMIT),
    SERVE_OPT("--rate-burst", RATE_BURST),
    SERVE_OPT("--audit-max-size", AUDIT_MAX_SIZE),
    SERVE_OPT("--person-cache-mb", PERSON_CACHE_MB),
};

#define N_OPTS (sizeof opts / sizeof opts[0])

static const char usage_serve[] =
    "usage: shikakud serve [flags]\n"
    "\n"
    "Serves the REST API over HTTP (HTTPS with --tls-cert and --tls-key).\n"
    "Every /v1 request needs an API key (shikakud key create); --no-auth\n"
    "drops that, and is refused unless HOST is a loopback address.\n"
    "\n"
    "flags (each also read from the environment variable shown; a flag\n"
    "wins over its variable):\n"
    "  --listen HOST:PORT      SHIKAKU_LISTEN           default "
    "127.0.0.1:8080;\n"
    "                          HOST is an IPv4 address, [IPv6] or localhost;\n"
    "                          PORT 0 picks a free port (logged)\n"
    "  --db FILE|URI           SHIKAKU_DB               default shikaku.db;\n"
    "                          a postgresql:// or postgres:// URI: PostgreSQL\n"
    "                          (several replicas on one database; the\n"
    "                          password is never printed)\n"
    "  --rules FILE            SHIKAKU_RULES            rules file (JSON); "
    "default:\n"
    "                          the built-in parameters\n"
    "  --no-auth               SHIKAKU_NO_AUTH=1        serve without API "
    "keys\n"
    "                          (loopback only); answers only Host localhost,\n"
    "                          127.0.0.1 or [::1], 421 to any other\n"
    "  --max-body BYTES        SHIKAKU_MAX_BODY         default 1048576; a\n"
    "                          larger body gets 413 (read and dropped for a\n"
    "                          while, up to 64 MiB, so the client reads it)\n"
    "  --max-import-body BYTES SHIKAKU_MAX_IMPORT_BODY  default 536870912 (a\n"
    "                          streamed POST /v1/persons:import body)\n"
    "  --max-header BYTES      SHIKAKU_MAX_HEADER       default 16384\n"
    "  --max-connections N     SHIKAKU_MAX_CONNECTIONS  default 1024; one\n"
    "                          more closes those waiting longest for a head\n"
    "  --max-per-ip N          SHIKAKU_MAX_PER_IP       default 64\n"
    "  --idle-timeout SECONDS  SHIKAKU_IDLE_TIMEOUT     default 30; 0 = never\n"
    "  --header-timeout SECONDS SHIKAKU_HEADER_TIMEOUT  default 10; a\n"
    "                          request's head (line and header fields) must\n"
    "                          be complete this long after the connection\n"
    "                          opened or its previous answer, else the\n"
    "                          connection is closed (an idle keep-alive one\n"
    "                          too); 0 = never\n"
    "  --body-min-rate BYTES_PER_SECOND SHIKAKU_BODY_MIN_RATE  default\n"
    "                          1024; a body (not an import being stored:\n"
    "                          see --import-min-rate) arriving slower on\n"
    "                          average, from 5 s after its head, gets 408\n"
    "                          (or the connection closed if it stays\n"
    "                          silent); 0 = no minimum\n"
    "  --threads N             SHIKAKU_THREADS          default: online cores\n"
    "  --tls-cert FILE         SHIKAKU_TLS_CERT         PEM certificate "
    "(chain):\n"
    "                          serve HTTPS; needs --tls-key\n"
    "  --tls-key FILE          SHIKAKU_TLS_KEY          PEM private key\n"
    "  --tls-priorities STRING SHIKAKU_TLS_PRIORITIES   GnuTLS priority "
    "string;\n"
    "                          default: TLS 1.2 and 1.3 only, forward-secret\n"
    "                          AEAD suites only (ECDHE with AES-GCM or\n"
    "                          ChaCha20-Poly1305)\n"
    "  --audit-retention-days N SHIKAKU_AUDIT_RETENTION_DAYS  default 400;\n"
    "                          0 keeps the audit log forever (in FILE-audit\n"
    "                          beside --db FILE: back up both files)\n"
    "  --import-timeout SECONDS SHIKAKU_IMPORT_TIMEOUT  default 600; an\n"
    "                          import upload taking longer is cut: 408,\n"
    "                          nothing stored; 0 = no limit\n"
    "  --import-min-rate BYTES_PER_SECOND SHIKAKU_IMPORT_MIN_RATE  default\n"
    "                          1024; an import upload slower than this over\n"
    "                          a window (after the first window) is cut\n"
    "                          likewise; 0 = no limit\n"
    "  --import-rate-window SECONDS SHIKAKU_IMPORT_RATE_WINDOW  default 30\n"
    "  --metrics-open          SHIKAKU_METRICS_OPEN=1   GET /metrics without "
    "a key\n"
    "                          (default: a key of any role; it reveals the\n"
    "                          database size and dropped audit rows)\n"
    "  --metrics-auth          SHIKAKU_METRICS_AUTH=1   accepted and ignored: "
    "a\n"
    "                          key is needed by default now\n"
    "  --cors-origin ORIGIN    SHIKAKU_CORS_ORIGINS     allow this origin\n"
    "                          (scheme://host[:port]) to call the API from\n"
    "                          a page with a key (CORS); repeatable; the\n"
    "                          variable lists several, comma-separated\n"
    "  --session-idle-seconds N SHIKAKU_SESSION_IDLE_SECONDS  default 1800;\n"
    "                          a facility-page session unused this long ends\n"
    "  --session-max-seconds N SHIKAKU_SESSION_MAX_SECONDS  default 28800;\n"
    "                          a session ends this long after sign-in\n"
    "  --rate-limit N          SHIKAKU_RATE_LIMIT       requests a second per\n"
    "                          API key; more answer 429 with Retry-After;\n"
    "                          default 0 = no limit\n"
    "  --rate-burst N          SHIKAKU_RATE_BURST       requests a key may\n"
    "                          send at once; default: --rate-limit\n"
    "  --audit-max-size BYTES  SHIKAKU_AUDIT_MAX_SIZE   e.g. 512M or 20G: "
    "once\n"
    "                          FILE-audit's pages in use reach it, routes\n"
    "                          that name persons answer 503 audit_log_full\n"
    "                          (never unaudited); default 0 = no limit.\n"
    "                          /metrics: shikaku_audit_bytes,\n"
    "                          shikaku_audit_max_bytes\n"
    "  --person-cache-mb N     SHIKAKU_PERSON_CACHE_MB  MiB of stored persons\n"
    "                          kept in memory for lookups, read in from\n"
    "                          the store at start; 0 = no cache.\n"
    "                          Default: 192 (1 M persons) on SQLite, where\n"
    "                          it is never stale; 0 on PostgreSQL, where\n"
    "                          another replica's write reaches it only\n"
    "                          after that replica answered (README)\n"
    "                          /metrics: shikaku_person_cache_*\n"
    "  -h, --help              this text\n"
    "\n"
    "The facility page is served at http://HOST:PORT/ (SPEC §11).\n"
    "SIGTERM or SIGINT stops it after in-flight requests finish.\n"
    "Logs one JSON object a line on stderr; request lines leave in batches\n"
    "within 50 ms (all of them before it exits on SIGTERM).\n";

static const char usage_eval[] =
    "usage: shikakud eval [--rules FILE] [--lang en] < request.json\n"
    "\n"
    "Reads one evaluate body ({\"as_of\"?, \"person\": {...}}, at most 1 MiB)\n"
    "on stdin and prints the decision (exit 0) or the problem (exit 1) on\n"
    "stdout.  No server needed.\n"
    "\n"
    "flags:\n"
    "  --rules FILE   SHIKAKU_RULES   rules file (JSON); default: built-in\n"
    "  --lang en      texts in English (default Japanese)\n"
    "  -h, --help     this text\n";

const char *config_usage(enum config_cmd cmd)
{
	return cmd == CONFIG_EVAL ? usage_eval : usage_serve;
}

static unsigned online_cores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > 256 ? 256 : (unsigned)n;
}

static void defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->db = "shikaku.db";
	cfg->max_body = 1u << 20;
	cfg->max_import_body = (size_t)512 << 20;
	cfg->max_header = 16u << 10;
	cfg->max_connections = 1024;
	cfg->max_per_ip = 64;
	cfg->idle_timeout = 30;
	cfg->header_timeout = 10;
	cfg->body_min_rate = 1024;
	cfg->threads = online_cores();
	cfg->audit_retention_days = 400;
	cfg->import_timeout = 600;
	cfg->import_min_rate = 1024;
	cfg->import_rate_window = 30;
	cfg->session_idle = 1800;
	cfg->session_max = 8 * 3600;
	cfg->person_cache_mb = CONFIG_PERSON_CACHE_AUTO;
	/* cannot fail */
	config_parse_listen(cfg, "127.0.0.1:8080", NULL, 0);
}

__attribute__((format(printf, 3, 4))) static void fail(char *err, size_t errlen,
						       const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Parses a decimal integer in [lo, hi]; no sign, no suffix, no spaces. */
static int parse_uint(const char *s, unsigned long long lo,
		      unsigned long long hi, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* Zeroes cfg->addr, sets its family, port and length; returns where its
 * address goes. */
static void *listen_addr_init(struct config *cfg, bool v6, uint16_t port)
{
	memset(&cfg->addr, 0, sizeof cfg->addr);
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&cfg->addr;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		cfg->addr_len = sizeof *a;
		return &a->sin6_addr;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)&cfg->addr;

	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	cfg->addr_len = sizeof *a;
	return &a->sin_addr;
}

int config_parse_listen(struct config *cfg, const char *s, char *err,
			size_t errlen)
{
	char host[CONFIG_HOST_MAX];
	const char *port_s;
	unsigned long long port;
	size_t hlen;
	bool v6 = false;
	void *bin;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			goto bad;
		hlen = (size_t)(close - s - 1);
		if (hlen == 0 || hlen >= sizeof host)
			goto bad;
		memcpy(host, s + 1, hlen);
		port_s = close + 2;
		v6 = true;
	} else {
		const char *colon = strrchr(s, ':');

		if (colon == NULL || memchr(s, ':', (size_t)(colon - s)))
			goto bad; /* bare IPv6 needs brackets */
		hlen = (size_t)(colon - s);
		if (hlen == 0 || hlen >= sizeof host)
			goto bad;
		memcpy(host, s, hlen);
		port_s = colon + 1;
	}
	host[hlen] = '\0';
	if (parse_uint(port_s, 0, 65535, &port) != 0)
		goto bad;

	/* Only numeric addresses and "localhost": binding must not depend on
	 * DNS, and the loopback check must see what is really bound. */
	if (!v6 && strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	bin = listen_addr_init(cfg, v6, (uint16_t)port);
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, bin) != 1)
		goto bad;
	inet_ntop(v6 ? AF_INET6 : AF_INET, bin, cfg->host, sizeof cfg->host);
	cfg->port = (uint16_t)port;
	return 0;
bad:
	fail(err, errlen,
	     "bad listen address '%s': want IPv4:PORT, [IPv6]:PORT or "
	     "localhost:PORT",
	     s);
	return -1;
}

bool config_listen_is_loopback(const struct config *cfg)
{
	if (cfg->addr.ss_family == AF_INET) {
		const struct sockaddr_in *a =
		    (const struct sockaddr_in *)&cfg->addr;

		return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	if (cfg->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a =
		    (const struct sockaddr_in6 *)&cfg->addr;

		if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr))
			return true;
		return IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) &&
		       a->sin6_addr.s6_addr[12] == 127;
	}
	return false;
}

/* A size: decimal bytes, or with a suffix K, M, G or T (powers of 1024,
 * an optional "iB" or "B" after it). */
static int parse_size(const char *s, unsigned long long *out)
{
	unsigned long long v, mul = 1;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case 'K':
	case 'k': mul = 1ull << 10; break;
	case 'M': mul = 1ull << 20; break;
	case 'G': mul = 1ull << 30; break;
	case 'T': mul = 1ull << 40; break;
	case '\0': break;
	default: return -1;
	}
	if (*end) {
		end++;
		if (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0)
			end += strlen(end);
	}
	if (*end != '\0' || v > (1ull << 50) / mul)
		return -1;
	*out = v * mul;
	return 0;
}

/* A GnuTLS priority string, checked now (gnutls_priority_init, as
 * libmicrohttpd will call it) so that a mistyped one stops the start with
 * the place GnuTLS stumbled on, rather than a vague "cannot listen". */
static int tls_priorities(struct config *cfg, const char *value,
			  const char *from, char *err, size_t errlen)
{
	gnutls_priority_t prio;
	const char *where = NULL;
	int rc;

	if (value[0] == '\0') {
		fail(err, errlen, "bad value for %s: empty", from);
		return -1;
	}
	rc = gnutls_priority_init(&prio, value, &where);
	if (rc != GNUTLS_E_SUCCESS) {
		fail(err, errlen,
		     "bad value for %s: GnuTLS refuses the priority string "
		     "at '%.40s' (%s)",
		     from, where != NULL ? where : value, gnutls_strerror(rc));
		return -1;
	}
	gnutls_priority_deinit(prio);
	cfg->tls_priorities = value;
	return 0;
}

/* An origin as a browser sends it: http or https, a host of letters,
 * digits, '.', '-' (or [IPv6]), an optional port; no path, no slash. */
static bool origin_valid(const char *o, size_t n)
{
	size_t i = base_url_http_prefix(o, n, false);

	if (i == 0)
		return false;
	for (; i < n; i++)
		if (!strchr(
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			"0123456789.-:[]",
			o[i]))
			return false;
	return o[n - 1] != ':';
}

/* Adds the origins of value (one, or a list separated by commas or
 * spaces) to cfg's list. */
static int cors_add(struct config *cfg, const char *value, bool flag,
		    const char *from, char *err, size_t errlen)
{
	const char *p = value;

	if (flag && !cfg->cors_from_flag) {
		cfg->cors_from_flag = true; /* the flags replace the variable */
		cfg->n_cors_origins = 0;
	}
	while (*p) {
		size_t n;

		p += strspn(p, ", ");
		n = strcspn(p, ", ");
		if (n == 0)
			break;
		if (n >= CONFIG_ORIGIN_MAX || !origin_valid(p, n) ||
		    cfg->n_cors_origins >= CONFIG_CORS_MAX) {
			fail(err, errlen,
			     "bad value for %s: '%.*s' (an origin is "
			     "http[s]://host[:port], at most %d of them)",
			     from, (int)(n < 100 ? n : 100), p,
			     CONFIG_CORS_MAX);
			return -1;
		}
		memcpy(cfg->cors_buf[cfg->n_cors_origins], p, n);
		cfg->cors_buf[cfg->n_cors_origins][n] = '\0';
		cfg->cors_origins[cfg->n_cors_origins] =
		    cfg->cors_buf[cfg->n_cors_origins];
		cfg->n_cors_origins++;
		p += n;
	}
	return 0;
}

/* The options that take a whole number: its bounds, and the field of
 * struct config (of what type) it sets. */
enum num_type { NUM_SIZE, NUM_UNSIGNED, NUM_INT };

/* An entry of num_opts: the option, its bounds, and the field it sets. */
/* clang-format off */
#define NUM_OPT(id, lo, hi, type, field) \
	{id, lo, hi, type, offsetof(struct config, field)}
/* clang-format on */

static const struct num_opt {
	enum opt_id id;
	unsigned long long lo, hi;
	enum num_type type;
	size_t at; /* offsetof(struct config, field) */
} num_opts[] = {
    /* 1 GiB: far beyond any JSON body; imports will stream */
    NUM_OPT(OPT_MAX_BODY, 1, 1ull << 30, NUM_SIZE, max_body),
    /* streamed, never held: only the disk bounds it */
    NUM_OPT(OPT_MAX_IMPORT_BODY, 1, 1ull << 40, NUM_SIZE, max_import_body),
    NUM_OPT(OPT_MAX_HEADER, 1024, 1u << 20, NUM_SIZE, max_header),
    NUM_OPT(OPT_MAX_CONNECTIONS, 1, 1000000, NUM_UNSIGNED, max_connections),
    NUM_OPT(OPT_MAX_PER_IP, 1, 1000000, NUM_UNSIGNED, max_per_ip),
    NUM_OPT(OPT_IDLE_TIMEOUT, 0, 86400, NUM_UNSIGNED, idle_timeout),
    NUM_OPT(OPT_HEADER_TIMEOUT, 0, 86400, NUM_UNSIGNED, header_timeout),
    NUM_OPT(OPT_BODY_MIN_RATE, 0, 1ull << 30, NUM_SIZE, body_min_rate),
    NUM_OPT(OPT_THREADS, 1, 256, NUM_UNSIGNED, threads),
    NUM_OPT(OPT_AUDIT_RETENTION_DAYS, 0, 36500, NUM_INT, audit_retention_days),
    NUM_OPT(OPT_IMPORT_TIMEOUT, 0, 7 * 86400, NUM_UNSIGNED, import_timeout),
    NUM_OPT(OPT_IMPORT_MIN_RATE, 0, 1ull << 30, NUM_UNSIGNED, import_min_rate),
    NUM_OPT(OPT_IMPORT_RATE_WINDOW, 1, 3600, NUM_UNSIGNED, import_rate_window),
    NUM_OPT(OPT_RATE_LIMIT, 0, 1000000, NUM_UNSIGNED, rate_limit),
    NUM_OPT(OPT_RATE_BURST, 0, 1000000, NUM_UNSIGNED, rate_burst),
    NUM_OPT(OPT_SESSION_IDLE_SECONDS, 1, 86400, NUM_UNSIGNED, session_idle),
    NUM_OPT(OPT_SESSION_MAX_SECONDS, 1, 7 * 86400, NUM_UNSIGNED, session_max),
    NUM_OPT(OPT_PERSON_CACHE_MB, 0, 1u << 20, NUM_UNSIGNED, person_cache_mb),
};

static const struct num_opt *num_opt_of(enum opt_id id)
{
	for (size_t i = 0; i < sizeof num_opts / sizeof num_opts[0]; i++)
		if (num_opts[i].id == id)
			return &num_opts[i];
	return NULL;
}

/* Sets a whole-number option; -1 when the value is out of its bounds. */
static int apply_number(struct config *cfg, const struct num_opt *n,
			const char *value)
{
	unsigned long long v;
	char *field = (char *)cfg + n->at;

	if (parse_uint(value, n->lo, n->hi, &v) != 0)
		return -1;
	switch (n->type) {
	case NUM_SIZE: *(size_t *)(void *)field = (size_t)v; break;
	case NUM_UNSIGNED: *(unsigned *)(void *)field = (unsigned)v; break;
	case NUM_INT: *(int *)(void *)field = (int)v; break;
	}
	return 0;
}

/* An on/off option: the flag alone or "1" is on, "0" or empty is off. */
static int apply_switch(bool *out, const char *value)
{
	if (value == NULL || strcmp(value, "1") == 0)
		*out = true;
	else if (strcmp(value, "0") == 0 || value[0] == '\0')
		*out = false;
	else
		return -1;
	return 0;
}

/* A path option: any value but the empty one. */
static int apply_path(const char **out, const char *value)
{
	if (value[0] == '\0')
		return -1;
	*out = value;
	return 0;
}

/* Applies one option that is neither a number nor an on/off switch;
 * -1 (no message) for a bad value. */
static int apply_other(struct config *cfg, const struct opt *o,
		       const char *value, const char *from, char *err,
		       size_t errlen)
{
	unsigned long long v;

	switch (o->id) {
	case OPT_LISTEN: return config_parse_listen(cfg, value, err, errlen);
	case OPT_DB: return apply_path(&cfg->db, value);
	case OPT_RULES: return apply_path(&cfg->rules, value);
	case OPT_TLS_CERT: return apply_path(&cfg->tls_cert, value);
	case OPT_TLS_KEY: return apply_path(&cfg->tls_key, value);
	case OPT_METRICS_AUTH:
		/* the old way to ask for what is now the default: accepted
		 * (a configuration file may still say it), changes nothing;
		 * even =0 never opens /metrics, only --metrics-open does */
		if (value != NULL && strcmp(value, "1") != 0 &&
		    strcmp(value, "0") != 0 && value[0] != '\0')
			return -1;
		return 0;
	case OPT_AUDIT_MAX_SIZE:
		if (parse_size(value, &v) != 0)
			return -1;
		cfg->audit_max_bytes = (long long)v;
		return 0;
	case OPT_TLS_PRIORITIES:
		return tls_priorities(cfg, value, from, err, errlen);
	case OPT_CORS_ORIGINS:
		return cors_add(cfg, value, from[0] == '-', from, err, errlen);
	case OPT_LANG:
		if (strcmp(value, "en") == 0)
			cfg->lang_en = true;
		else if (strcmp(value, "ja") == 0)
			cfg->lang_en = false;
		else
			return -1;
		return 0;
	default: return -1;
	}
}

/* Applies one option's value; `from` names its origin for messages. */
static int apply(struct config *cfg, const struct opt *o, const char *value,
		 const char *from, char *err, size_t errlen)
{
	const struct num_opt *n = num_opt_of(o->id);
	int rc;

	if (n != NULL)
		rc = apply_number(cfg, n, value);
	else if (o->id == OPT_NO_AUTH)
		rc = apply_switch(&cfg->no_auth, value);
	else if (o->id == OPT_METRICS_OPEN)
		rc = apply_switch(&cfg->metrics_open, value);
	else if (o->id == OPT_LISTEN || o->id == OPT_TLS_PRIORITIES ||
		 o->id == OPT_CORS_ORIGINS)
		/* these write their own message */
		return apply_other(cfg, o, value, from, err, errlen);
	else
		rc = apply_other(cfg, o, value, from, err, errlen);
	if (rc != 0)
		fail(err, errlen, "bad value for %s: '%s'", from,
		     value != NULL ? value : "");
	return rc;
}

/* The flags of a command, read by args_parse (service/args.h) against the
 * rows of opts[] that command has. */
struct flag_ctx {
	struct config *cfg;
	const struct opt *row[N_OPTS];
};

static int flag_apply(void *p, int i, const char *value, char *err,
		      size_t errlen)
{
	struct flag_ctx *fc = p;

	if (i == ARGS_POSITIONAL) {
		fail(err, errlen, "unknown argument '%s'", value);
		return -1;
	}
	return apply(fc->cfg, fc->row[i], value, fc->row[i]->flag, err, errlen);
}

static enum args_result read_flags(struct config *cfg, unsigned mask, int argc,
				   char *const argv[], char *err, size_t errlen)
{
	struct args_flag flags[N_OPTS];
	struct flag_ctx fc = {.cfg = cfg};
	size_t n = 0;

	for (size_t k = 0; k < N_OPTS; k++) {
		if (!(opts[k].cmds & mask))
			continue;
		flags[n].name = opts[k].flag;
		flags[n].takes_value = opts[k].takes_value;
		fc.row[n++] = &opts[k];
	}
	return args_parse(argc, argv, flags, n, flag_apply, &fc, err, errlen);
}

enum config_result config_load(struct config *cfg, enum config_cmd cmd,
			       int argc, char *const argv[], char *err,
			       size_t errlen)
{
	unsigned mask = 1u << cmd;

	defaults(cfg);
	if (err != NULL && errlen > 0)
		err[0] = '\0';

	for (size_t i = 0; i < N_OPTS; i++) {
		const char *v;

		if (!(opts[i].cmds & mask) || opts[i].env == NULL)
			continue;
		v = getenv(opts[i].env);
		if (v == NULL)
			continue;
		if (apply(cfg, &opts[i], v, opts[i].env, err, errlen) != 0)
			return CONFIG_USAGE;
	}

	switch (read_flags(cfg, mask, argc, argv, err, errlen)) {
	case ARGS_HELP: return CONFIG_HELP;
	case ARGS_USAGE: return CONFIG_USAGE;
	case ARGS_OK: break;
	}

	if (cfg->max_per_ip > cfg->max_connections)
		cfg->max_per_ip = cfg->max_connections;
	if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL)) {
		fail(err, errlen, "--tls-cert and --tls-key go together");
		return CONFIG_USAGE;
	}
	if (cfg->tls_priorities != NULL && cfg->tls_cert == NULL) {
		fail(err, errlen,
		     "--tls-priorities needs --tls-cert and --tls-key");
		return CONFIG_USAGE;
	}
	return CONFIG_OK;
}

unsigned config_person_cache_mb(const struct config *cfg)
{
	if (cfg->person_cache_mb != CONFIG_PERSON_CACHE_AUTO)
		return cfg->person_cache_mb;
	return db_is_uri(cfg->db) ? 0 : 192;
}
