/* config.h - the service's configuration: one struct, read once from the
 * command line and the environment (a flag wins over its variable),
 * validated, then passed around as const.
 */
#ifndef SHIKAKU_SERVICE_CONFIG_H
#define SHIKAKU_SERVICE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CONFIG_HOST_MAX   64
#define CONFIG_CORS_MAX   16
#define CONFIG_ORIGIN_MAX 128

/* The TLS versions and suites offered when --tls-priorities is not given
 * (SPEC §8): TLS 1.2 and 1.3 only; in TLS 1.2 key exchange by ephemeral
 * ECDH only, so every suite is forward secret (no static RSA; no DHE
 * either: libmicrohttpd sets no DH parameters, so it could never be
 * chosen); AEAD ciphers only (no CBC, no RC4, no SHA-1 MAC); the server's
 * order of preference. */
#define CONFIG_TLS_PRIORITIES_DEFAULT                                          \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:"                          \
	"-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:"                                     \
	"-CIPHER-ALL:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-GCM:"            \
	"-MAC-ALL:+AEAD:%SERVER_PRECEDENCE"

struct config {
	/* --listen / SHIKAKU_LISTEN, HOST:PORT or [IPv6]:PORT */
	char host[CONFIG_HOST_MAX]; /* numeric, as inet_ntop writes it */
	uint16_t port;              /* 0 = ephemeral */
	struct sockaddr_storage addr;
	socklen_t addr_len;

	const char *db;    /* --db / SHIKAKU_DB; borrowed from argv/environ */
	const char *rules; /* --rules / SHIKAKU_RULES; NULL = defaults */
	bool no_auth;      /* --no-auth / SHIKAKU_NO_AUTH=1 */
	const char *tls_cert; /* --tls-cert: PEM file; NULL = plain HTTP */
	const char *tls_key;  /* --tls-key: PEM file */
	/* --tls-priorities: a GnuTLS priority string (checked at load);
	 * NULL = CONFIG_TLS_PRIORITIES_DEFAULT */
	const char *tls_priorities;
	int audit_retention_days; /* 0 = forever */
	/* An import upload is cut (408, nothing stored) after import_timeout
	 * seconds (0: never), or when fewer than import_min_rate bytes a
	 * second (0: no floor) came over import_rate_window seconds, counted
	 * from the end of the first window. */
	unsigned import_timeout;
	unsigned import_min_rate;
	unsigned import_rate_window;
	bool metrics_open; /* GET /metrics without a key */

	/* --rate-limit: requests per key and second, 0 = off; --rate-burst:
	 * requests at once, 0 = rate_limit; --audit-max-size: bytes of the
	 * audit log from which audited routes answer 503, 0 = off. */
	unsigned rate_limit, rate_burst;
	long long audit_max_bytes;
	/* --person-cache-mb: MiB of the person cache (db/person_cache.h),
	 * 0 = none; CONFIG_PERSON_CACHE_AUTO (not given): 192 on SQLite, 0
	 * on PostgreSQL (config_person_cache_mb). */
	unsigned person_cache_mb;

	size_t max_body;          /* bytes of a request body */
	size_t max_import_body;   /* bytes of a streamed import body */
	size_t max_header;        /* bytes of the request's header fields */
	unsigned max_connections; /* in all */
	unsigned max_per_ip;      /* per client address */
	unsigned idle_timeout;    /* seconds; 0 = never */
	unsigned header_timeout;  /* seconds for a request head; 0 = never */
	size_t body_min_rate;     /* bytes/s of a buffered body; 0 = none */
	unsigned threads;         /* worker threads */

	bool lang_en; /* eval --lang en */

	/* --cors-origin ORIGIN (repeatable) / SHIKAKU_CORS_ORIGINS (separated
	 * by commas or spaces): exact scheme://host[:port] origins allowed
	 * cross-origin (SPEC §8); flags replace the variable's list. */
	char cors_buf[CONFIG_CORS_MAX][CONFIG_ORIGIN_MAX];
	const char *cors_origins[CONFIG_CORS_MAX]; /* into cors_buf */
	size_t n_cors_origins;
	bool cors_from_flag;
	/* The facility page's sessions: --session-idle-seconds (default
	 * 1800) and --session-max-seconds (default 28800). */
	unsigned session_idle;
	unsigned session_max;
};

enum config_cmd { CONFIG_SERVE, CONFIG_EVAL };

enum config_result {
	CONFIG_OK = 0,
	CONFIG_HELP,  /* --help or -h was given: print the usage, exit 0 */
	CONFIG_USAGE, /* unknown flag, missing or bad value: err says which */
};

/* Fills *cfg with the defaults, then the environment, then the flags of
 * argv[0..argc) (the words after the subcommand).  Strings are borrowed
 * from argv and the environment.  On CONFIG_USAGE, err holds one line. */
enum config_result config_load(struct config *cfg, enum config_cmd cmd,
			       int argc, char *const argv[], char *err,
			       size_t errlen);

/* Parses "HOST:PORT" (IPv4 dotted quad, "localhost", or "[IPv6]:PORT")
 * into cfg's host, port, addr and addr_len.  Returns 0, or -1 with err. */
int config_parse_listen(struct config *cfg, const char *s, char *err,
			size_t errlen);

/* True when the listen address is loopback (127.0.0.0/8, ::1, or an
 * IPv4-mapped 127.x address). */
bool config_listen_is_loopback(const struct config *cfg);

/* The usage text of a subcommand (flags and their variables), for --help. */
const char *config_usage(enum config_cmd cmd);

/* --person-cache-mb as not given, and what it then means for the store
 * of cfg->db: SQLite 192 MiB (1 M persons); PostgreSQL none, since another
 * replica's write reaches this one's cache by NOTIFY only after that
 * replica answered it (SPEC §7's read-your-writes across replicas). */
#define CONFIG_PERSON_CACHE_AUTO 0xffffffffu
unsigned config_person_cache_mb(const struct config *cfg);

#endif
