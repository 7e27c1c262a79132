/* server.c - libmicrohttpd request handling; see server.h.
 *
 * libmicrohttpd calls the access handler several times per request:
 *
 *   first call (*req_cls == NULL): allocate the request context, pick the
 *     request id, check the headers; return MHD_YES without a response.
 *     (With Debian's 0.9.75, a response queued on the first call goes out
 *     with "Connection: close", so only the refusals that must close the
 *     connection anyway are queued there.)
 *   upload calls (*upload_data_size > 0): copy into the bounded body
 *     buffer and consume everything.  0.9.75 refuses MHD_queue_response
 *     there; the one answer given there (a body growing past its limit)
 *     is written to the socket by send_now, and the connection closed.
 *   final call (*upload_data_size == 0): answer.
 *
 * The imports (POST /v1/persons:import, /v1/insurers:import) are not
 * buffered: the first call opens an api_stream (its route, query and media
 * type checked, its transaction begun), each upload call feeds it, the
 * final call finishes it, and the completion callback aborts one that never
 * got there (a client gone mid-upload): its transaction rolls back.
 *
 * The context is freed in the completion callback, which libmicrohttpd
 * calls for aborted requests too.
 *
 * Limits and who enforces them:
 *   - body: here.  A Content-Length over the limit is refused on the first
 *     call (413, connection closed: the body is never stored); a chunked
 *     body is refused as soon as it grows past the limit (413 written by
 *     send_now).  Whatever the client still sends is read and dropped by
 *     a lingering close (service/linger.h, bounded by LINGER_*), so that a
 *     client that reads only after sending (Python's http.client) gets
 *     its 413 rather than a reset.  A refused request (400, 421, 431, an
 *     import's 415/422/503) reads and drops its body up to the same limit
 *     and answers at its end, or past the limit at once, likewise.
 *   - an import's time and rate: here (import_limit, checked as its body
 *     comes).  An import over --import-timeout, or slower than
 *     --import-min-rate over --import-rate-window, rolls back and gets its
 *     408 at once by send_now (cut_import), closed lingering likewise; a
 *     client that sends nothing at all is closed by the connection timeout
 *     (at most --import-timeout), unanswered.
 *   - Host: with --no-auth (loopback only), only localhost, 127.0.0.1 and
 *     [::1] are answered (421 otherwise): a page of another site that
 *     rebinds its name to 127.0.0.1 must not read the data (DNS
 *     rebinding).  A request without Host (HTTP/1.0) is answered: no
 *     browser sends one.  An absolute-form target's host stands for Host
 *     (RFC 9112 §3.2.2).
 *   - header fields: here, 431 problem+json when their total size is over
 *     max_header.  Headers that do not even fit in the connection's memory
 *     pool (max_header + POOL_SLACK) are answered by libmicrohttpd itself,
 *     before any callback: 0.9.75 sends its own "431 Request Header Fields
 *     Too Large" with a short HTML body and closes; a request line that
 *     does not fit gets its own 414.  Acceptable for now: such requests
 *     are far outside anything a client of this API sends.
 *   - connections in all and per client address: counted here too.
 *     libmicrohttpd's own limits are set OVER_SLACK higher; a connection
 *     over our limit gets 503 problem+json with Retry-After to its first
 *     request and is closed.  Beyond the slack libmicrohttpd closes it on
 *     accept (0.9.75 has no hook to answer there).  A connection one over
 *     the limit in all first makes room: the connections waiting longest
 *     for a request head are cut (watch_connection, service/watchdog.h).
 *   - time: libmicrohttpd's idle timeout, which any byte resets; the
 *     watchdog's head deadline (--header-timeout, from accept or the
 *     previous answer) and minimum body rate (--body-min-rate: buffered
 *     bodies, and those read and dropped after a refusal, a refused
 *     import's too; a client behind it is answered 408, or the refusal
 *     already decided, by too_slow when its next bytes come, or cut by the
 *     watchdog when it stays silent).  A live import's time and rate are
 *     its own (import_limit, above).
 *   - framing (RFC 9112): check_framing, on the first call, answers 400
 *     (Content-Length with Transfer-Encoding, a coding list other than a
 *     lone chunked, identity included, none or two Host fields, a NUL in
 *     a field value or the target, folding) or 501 (a transfer coding
 *     other than chunked: libmicrohttpd would read the body until the
 *     connection closes) and closes, lingering when a body may follow.
 *     A folded X-Request-Id that holds an individual number is not
 *     refused there: it gets SPEC §8's 422 after authentication, and its
 *     connection closes after the answer.  libmicrohttpd runs not strict
 *     (MHD_OPTION_STRICT_FOR_CLIENT 0) so that a request without Host
 *     reaches it: strict, 0.9.75 answers it with its status line and
 *     headers twice.  An absolute-form target is served by its path.
 *   - ambiguous heads libmicrohttpd lets by (a repeated Authorization or
 *     X-Request-Id, "%00" in the target): here, see http_head.h; they are
 *     answered once the body has been read and dropped, like a repeated
 *     Content-Type, and the connection stays open.
 *   - malformed requests beyond those: libmicrohttpd answers itself, with
 *     a short HTML body, and closes: a request line it cannot parse (400,
 *     or no answer when it has no space), an HTTP version other than 1.x
 *     (505), a field line without a colon (400); a Content-Length that is
 *     not a number (400) or too large for 64 bits (413) gets 0.9.75's
 *     answer twice, status line and headers repeated (its defect; it
 *     happens before any callback).
 */
#include "service/server.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/metrics.h"
#include "api/text.h"
#include "base/fnv.h"
#include "service/framing.h"
#include "service/http_head.h"
#include "service/linger.h"
#include "service/log.h"
#include "service/request_id.h"
#include "service/watchdog.h"

/* Room in each connection's memory pool beyond the header limit: the
 * request line, libmicrohttpd's own records and the response headers. */
#define POOL_SLACK (16u << 10)

/* Connections let in beyond each limit to be told 503 rather than cut. */
#define OVER_SLACK 16u
#define IP_SLOTS   4096

/* Lingering close of a refused connection: at most LINGER_MAX at once,
 * each until the client closes, LINGER_BYTES more are read (a 10 MB body
 * sent after an early 413 fits), LINGER_TIME_MS or LINGER_IDLE_MS without
 * data.  nginx: lingering_time 30 s, lingering_timeout 5 s, no byte
 * bound; these are for a LAN. */
#define LINGER_MAX     64u
#define LINGER_BYTES   ((size_t)64 << 20)
#define LINGER_TIME_MS 10000u
#define LINGER_IDLE_MS 2000u

/* A buffered body's first seconds, before --body-min-rate counts: a
 * client's start (TLS, a slow first write) is not held against it. */
#define BODY_GRACE_MS 5000u

/* What is kept per connection (libmicrohttpd's socket context). */
struct conn_ctx {
	uintptr_t slot1; /* the client address's slot + 1, 0: not counted */
	bool linger;     /* closed with its body unread: lingering close */
	unsigned wd;     /* its id in srv->wd; 0: not watched */
	/* api/'s request context, made by the first request and reused by
	 * the next ones on this connection (NULL until then) */
	struct api_ctx *api;
};

/* A request refused on its head whose body is longer than this (or of
 * unknown length: chunked) is answered at once, the body unread, and its
 * connection closed lingering (service/linger.c); a shorter one is read
 * and dropped, and the connection kept. */
#define DROP_MAX ((size_t)64 << 10)

/* Set just before an upload call returns MHD_NO on purpose (send_now has
 * answered): libmicrohttpd's "Application reported internal error" that
 * follows is not an error. */
static _Thread_local bool closing_on_purpose;

struct ip_count {
	unsigned char addr[16]; /* IPv4 in the first 4 bytes */
	unsigned count;         /* 0 = free slot */
};

struct server {
	struct MHD_Daemon *daemon;
	const struct config *cfg;
	const struct api_app *app;
	uint16_t port;
	/* requests between their first call and their completion callback */
	atomic_uint in_flight;
	/* SIGTERM came: every answer closes its connection (the drain) */
	atomic_bool stopping;
	char *tls_cert; /* PEM, new; NULL for plain HTTP */
	char *tls_key;
	struct linger_pool *linger; /* refused connections being closed */
	struct watchdog *wd;        /* slow clients' deadlines */
	struct watchdog_limits wd_limits;
	/* Connections counted here rather than only by libmicrohttpd, whose
	 * limits close a connection without a word: up to OVER_SLACK more are
	 * let in, to be answered 503 problem+json (SPEC §6). */
	atomic_uint open_connections;
	pthread_mutex_t ip_lock; /* taken on connect and close only */
	struct ip_count ips[IP_SLOTS];
};

struct server;
static bool overloaded(struct server *srv, struct MHD_Connection *conn);

enum refusal {
	REFUSE_NONE = 0,
	REFUSE_TOO_LARGE,         /* 413 */
	REFUSE_HEADERS_TOO_LARGE, /* 431 */
	REFUSE_REPEATED_CT,       /* 400: Content-Type more than once */
	REFUSE_REPEATED_CL,       /* 400: Content-Length more than once */
	REFUSE_API,               /* api_begin's refusal, in `early` */
	REFUSE_OVERLOADED,        /* 503: over the connection limits */
	REFUSE_MISDIRECTED,       /* 421: --no-auth and a Host not loopback's */
	REFUSE_FRAMING,           /* 400: check_framing, reason in `framing` */
	REFUSE_TE_UNSUPPORTED,    /* 501: a transfer coding not chunked */
	REFUSE_TOO_SLOW,          /* 408: a body below --body-min-rate */
	REFUSE_REPEATED_AUTH,     /* 400: Authorization more than once */
	REFUSE_REPEATED_RID,      /* 400: X-Request-Id more than once */
	REFUSE_TARGET_NUL,        /* 400: "%00" in the request target */
	REFUSE_NO_MEMORY,         /* 500: no request context */
};

struct request {
	struct server *srv;
	bool started; /* the first call has been made (see on_uri) */
	/* the target as it came (on_uri): "%00" in it; where it starts in
	 * libmicrohttpd's buffer, its length up to the first NUL, and
	 * whether it holds a space or a control character */
	enum http_head_nul target_nul;
	const char *target;
	size_t target_len;
	bool target_bad;
	struct timespec start; /* CLOCK_MONOTONIC, for duration_ms */
	double now;            /* POSIX seconds at the first call */
	char id[REQUEST_ID_MAX + 1];
	bool id_is_individual_number;
	bool answered;
	enum refusal refusal;
	bool has_body;   /* a Content-Length over 0, or chunked */
	bool answer_now; /* on the first call: its declared body is too large */
	size_t received; /* body bytes so far, stored or not */

	char *body; /* new; NULL until the first byte */
	size_t body_len;
	size_t body_cap;

	/* api/'s side of the request (api_begin on the first call): its
	 * connection's context, or one of its own (own_ctx) */
	struct api_ctx *ctx;
	bool own_ctx;
	bool begun;                /* api_begin ran: its route is in ctx */
	const char *route;         /* the route template, for log/metrics */
	bool stream_live;          /* a streamed import being read */
	bool streaming;            /* the route streams (its size limit) */
	size_t streamed;           /* bytes fed to it */
	double rate_mark_s;        /* import_limit's window: its start (s) */
	size_t rate_mark_bytes;    /* and streamed then */
	struct api_response early; /* REFUSE_API's answer */

	/* The request as api/ sees it (request_of), made on the first
	 * call; the body is added on the final call. */
	struct api_request req;

	struct api_kv query[API_MAX_QUERY];
	size_t n_query;
	bool query_overflow;
	/* the first pair past API_MAX_QUERY holding an individual number */
	struct api_kv query_number;

	struct conn_ctx *cc; /* its connection's (NULL: out of memory) */
	const char *path;    /* the target's path (absolute form: its path) */
	bool absolute;       /* the target is in absolute form */
	bool authority_loopback; /* ... naming localhost, 127.0.0.1 or [::1] */
	const char *framing;     /* REFUSE_FRAMING's reason (static) */
	const char *framing_field; /* and its errors[].field ("" for none) */
	/* answered with Connection: close: a folded X-Request-Id holding an
	 * individual number, let by check_framing for its 422 */
	bool close_after;
};

static double realtime_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double ms_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) * 1e3 +
	       (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind,
				     const char *key, const char *value)
{
	struct request *rq = cls;

	(void)kind;
	if (rq->n_query == API_MAX_QUERY) {
		rq->query_overflow = true;
		/* not kept, but still read: an individual number anywhere in
		 * the query refuses the request (individual_number_not_accepted)
		 * before the overflow is answered (SPEC §8) */
		if (rq->query_number.key == NULL &&
		    (api_is_individual_number(key, strlen(key)) ||
		     (value != NULL &&
		      api_is_individual_number(value, strlen(value))))) {
			rq->query_number.key = key;
			rq->query_number.value = value;
		}
		return MHD_YES;
	}
	rq->query[rq->n_query].key = key;
	rq->query[rq->n_query].value = value;
	rq->n_query++;
	return MHD_YES;
}

/* The request as api/ sees it, without its body: made once, on the first
 * call, kept in rq for the calls after it, its headers looked up once.
 * The strings are libmicrohttpd's, valid until the request completes. */
static struct api_request *request_of(struct MHD_Connection *conn,
				      struct request *rq, const char *url,
				      const char *method)
{
	struct api_request *req = &rq->req;

	if (rq->n_query == 0 && !rq->query_overflow)
		MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND,
					  collect_query, rq);
	memset(req, 0, sizeof *req);
	req->method = method;
	req->path = url;
	req->query = rq->query;
	req->n_query = rq->n_query;
	req->query_overflow = rq->query_overflow;
	req->query_number =
	    rq->query_number.key != NULL ? &rq->query_number : NULL;
	req->content_type = MHD_lookup_connection_value(
	    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	req->accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						  MHD_HTTP_HEADER_ACCEPT);
	req->accept_language = MHD_lookup_connection_value(
	    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_LANGUAGE);
	req->if_match = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_IF_MATCH);
	req->if_none_match = MHD_lookup_connection_value(
	    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	req->authorization = MHD_lookup_connection_value(
	    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	/* The facility page's session cookie and CSRF token, and what tells
	 * a cross-origin request (api/sessions.c, api/cors.c). */
	req->cookie = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						  MHD_HTTP_HEADER_COOKIE);
	req->origin =
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
	req->host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						MHD_HTTP_HEADER_HOST);
	req->sec_fetch_site = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							  "Sec-Fetch-Site");
	req->csrf_token =
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-CSRF-Token");
	req->request_id_is_individual_number = rq->id_is_individual_number;
	req->request_id = rq->id;
	req->now = rq->now;
	return req;
}

/* ---- first call: headers ---------------------------------------------- */

struct header_scan {
	bool check_host; /* --no-auth: Host must name loopback */
	size_t bytes;
	unsigned n_content_type;
	unsigned n_content_length;
	unsigned n_bad_host;
	bool chunked; /* Transfer-Encoding given */
	struct http_head head;
};

/* Is h (a Host value) a name of loopback that no other site's page can
 * hold: localhost, 127.0.0.1 or [::1] (any case), with or without a port?
 * A name of the attacker's that resolves to 127.0.0.1 is not. */
static bool host_is_loopback(const char *h)
{
	static const char *const names[] = {"localhost", "127.0.0.1", "[::1]"};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		size_t n = strlen(names[i]), digits = 0;
		const char *port;

		if (strncasecmp(h, names[i], n) != 0)
			continue;
		port = h + n;
		if (*port == '\0')
			return true;
		if (*port++ != ':')
			return false;
		while (port[digits] >= '0' && port[digits] <= '9')
			digits++;
		return digits <= 5 && port[digits] == '\0';
	}
	return false;
}

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind,
				   const char *key, const char *value)
{
	struct header_scan *hs = cls;

	(void)kind;
	/* "Key: value\r\n" as it was on the wire, give or take spaces */
	hs->bytes += strlen(key) + (value != NULL ? strlen(value) : 0) + 4;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_TYPE) == 0)
		hs->n_content_type++;
	else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
		hs->n_content_length++;
	else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
		hs->chunked = true;
	else if (hs->check_host && strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0 &&
		 (value == NULL || !host_is_loopback(value)))
		hs->n_bad_host++;
	http_head_field(&hs->head, key, value);
	return MHD_YES;
}

/* ---- first call: framing (RFC 9112) ------------------------------------ */

struct framing_scan {
	struct framing_te te;
	unsigned n_host;
	bool host_invalid;
	bool content_length;
	/* The NUL and folding check: the head in libmicrohttpd's buffer
	 * (NULL: unknown, not checked) and the end of the last field value
	 * seen in it. */
	const char *head, *head_end;
	const char *prev_end;
	bool stray;
};

static bool in_head(const struct framing_scan *fs, const char *p)
{
	return fs->head != NULL && p >= fs->head && p < fs->head_end;
}

static enum MHD_Result scan_framing(void *cls, enum MHD_ValueKind kind,
				    const char *key, const char *value)
{
	struct framing_scan *fs = cls;

	(void)kind;
	if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		framing_te_add(&fs->te, value);
	} else if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0) {
		fs->n_host++;
		if (value != NULL && !framing_host_valid(value, strlen(value)))
			fs->host_invalid = true;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
		fs->content_length = true;
	}
	/* Fields come in the order of the head.  A name outside the head
	 * is a folded field's (0.9.75 copies its name elsewhere): the bytes
	 * left in the head are then found between its neighbours. */
	if (!in_head(fs, key))
		return MHD_YES;
	if (fs->prev_end != NULL && fs->prev_end <= key &&
	    framing_stray_bytes(fs->prev_end, key, 2))
		fs->stray = true;
	fs->prev_end =
	    value != NULL && in_head(fs, value) ? value + strlen(value) : NULL;
	return MHD_YES;
}

/* Did the request target hold a NUL byte?  libmicrohttpd cuts the target
 * at the space before the version, writing a NUL there, and hands over the
 * version from the next byte on: the target as on_uri saw it ends right
 * before, unless a NUL of the client's cut it short. */
static bool target_has_nul(const struct request *rq, const char *version)
{
	return rq->target != NULL && version != rq->target + rq->target_len + 1;
}

/* An absolute-form target (RFC 9112 §3.2.2): notes it in rq, and whether
 * its authority is a loopback host; FRAMING_TARGET_BAD when the host is
 * not valid. */
static enum framing_target absolute_target(struct request *rq,
					   const char *authority, size_t alen)
{
	char host[64];

	rq->absolute = true;
	if (alen < sizeof host) {
		memcpy(host, authority, alen);
		host[alen] = '\0';
		rq->authority_loopback = host_is_loopback(host);
	}
	return framing_host_valid(authority, alen) ? FRAMING_TARGET_ABSOLUTE
						   : FRAMING_TARGET_BAD;
}

/* The framing checks libmicrohttpd 0.9.75 leaves to us (service/framing.h),
 * on the first call.  Sets rq->path, rq->absolute and
 * rq->authority_loopback; returns true, with rq->refusal (REFUSE_FRAMING
 * and its reason in rq->framing and rq->framing_field, or
 * REFUSE_TE_UNSUPPORTED), when the request must be answered at once and
 * its connection closed: a proxy in front may have read its bytes
 * otherwise (request smuggling).  A NUL or a fold in a head whose
 * X-Request-Id holds an individual number (rq->id_is_individual_number,
 * set before: http_head.h reads folded ones) is let by for SPEC §8's 422,
 * which comes after authentication, with rq->close_after. */
static bool check_framing(struct server *srv, struct MHD_Connection *conn,
			  struct request *rq, const char *url,
			  const char *method, const char *version)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
	    conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
	bool http10 = strcmp(version, MHD_HTTP_VERSION_1_0) == 0;
	struct framing_scan fs;
	enum framing_target target;
	enum framing_te_verdict te;
	const char *authority;
	size_t alen;

	memset(&fs, 0, sizeof fs);
	/* the head begins with the method, in place (0.9.75) */
	if (ci != NULL &&
	    ci->header_size <= srv->cfg->max_header + POOL_SLACK) {
		fs.head = method;
		fs.head_end = method + ci->header_size;
	}
	MHD_get_connection_values(conn, MHD_HEADER_KIND, scan_framing, &fs);
	if (framing_stray_bytes(fs.prev_end, fs.head_end, 4))
		fs.stray = true;
	te = framing_te_verdict(&fs.te);
	target = framing_target(url, &rq->path, &authority, &alen);
	if (target == FRAMING_TARGET_ABSOLUTE)
		target = absolute_target(rq, authority, alen);

	if (fs.stray && rq->id_is_individual_number) {
		fs.stray = false;
		rq->close_after = true;
	}
	rq->framing_field = "header:Transfer-Encoding";
	if (rq->target_bad || target_has_nul(rq, version)) {
		rq->framing = "the request target holds a space, a control "
			      "character or a NUL byte";
		rq->framing_field = "path";
	} else if (target == FRAMING_TARGET_BAD) {
		rq->framing = "the request target is an absolute URI without "
			      "a valid host, or with a userinfo";
		rq->framing_field = "path";
	} else if (fs.stray) {
		rq->framing = "a header field holds a NUL byte or is folded "
			      "over lines";
		rq->framing_field = "";
	} else if (fs.n_host > 1 || (fs.n_host == 0 && !http10) ||
		   fs.host_invalid) {
		rq->framing = fs.n_host > 1 ? "repeated header: Host"
			      : fs.n_host == 0
				  ? "missing header: Host (HTTP/1.1)"
				  : "invalid header: Host";
		rq->framing_field = "header:Host";
	} else if (te != FRAMING_TE_NONE && fs.content_length) {
		rq->framing = "Content-Length together with Transfer-Encoding";
	} else if (te != FRAMING_TE_NONE && http10) {
		rq->framing = "Transfer-Encoding in an HTTP/1.0 request";
	} else if (te == FRAMING_TE_BAD && fs.te.identity > 0) {
		rq->framing = "Transfer-Encoding: identity is no transfer "
			      "coding (RFC 9112): send Content-Length, or "
			      "Transfer-Encoding: chunked";
	} else if (te == FRAMING_TE_BAD) {
		rq->framing = "invalid header: Transfer-Encoding (only "
			      "\"chunked\", once)";
	}
	if (rq->framing != NULL) {
		rq->refusal = REFUSE_FRAMING;
		return true;
	}
	if (te == FRAMING_TE_UNSUPPORTED) {
		rq->refusal = REFUSE_TE_UNSUPPORTED;
		return true;
	}
	return false;
}

/* Refusals answered on the first call, the connection closed: the framing
 * is in doubt, or the connection is one too many. */
static bool closes_at_once(enum refusal r)
{
	return r == REFUSE_REPEATED_CL || r == REFUSE_OVERLOADED ||
	       r == REFUSE_FRAMING || r == REFUSE_TE_UNSUPPORTED;
}

/* True with the declared Content-Length in *out when there is one; a value
 * too large to represent counts as SIZE_MAX (over any limit). */
static bool declared_length(struct MHD_Connection *conn, size_t *out)
{
	const char *cl = MHD_lookup_connection_value(
	    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	size_t v = 0;

	if (cl == NULL)
		return false;
	/* libmicrohttpd has already refused a malformed value with 400 */
	for (const char *p = cl; *p >= '0' && *p <= '9'; p++) {
		if (v > (SIZE_MAX - 9) / 10) {
			v = SIZE_MAX;
			break;
		}
		v = v * 10 + (size_t)(*p - '0');
	}
	*out = v;
	return true;
}

/* The request's context: its connection's (made by the first request on
 * it), else one of its own; NULL when out of memory. */
static struct api_ctx *ctx_of(struct request *rq)
{
	if (rq->cc != NULL) {
		if (rq->cc->api == NULL)
			rq->cc->api = api_ctx_new();
		return rq->cc->api;
	}
	rq->own_ctx = true;
	return api_ctx_new();
}

/* Hands the head to api/ (api_begin: the route, found once, and every
 * check that needs no body).  Its refusal is kept in `early`; the import
 * of a streamed route is opened. */
static void begin(struct server *srv, struct MHD_Connection *conn,
		  struct request *rq, const char *url, const char *method)
{
	enum api_next next;

	rq->ctx = ctx_of(rq);
	if (rq->ctx == NULL) {
		rq->refusal = REFUSE_NO_MEMORY;
		return;
	}
	next = api_begin(rq->ctx, srv->app, request_of(conn, rq, url, method),
			 true, &rq->early);
	rq->begun = true;
	rq->route = api_ctx_route(rq->ctx);
	if (next == API_NEXT_ANSWER) {
		rq->refusal = REFUSE_API;
		return;
	}
	if (next != API_NEXT_STREAM)
		return;
	rq->streaming = true;
	rq->stream_live = true;
	/* Without an idle timeout, a client sending nothing would still be
	 * cut at --import-timeout (import_limit sees only clients that
	 * send). */
	if (srv->cfg->import_timeout &&
	    (srv->cfg->idle_timeout == 0 ||
	     srv->cfg->idle_timeout > srv->cfg->import_timeout))
		MHD_set_connection_option(
		    conn, MHD_CONNECTION_OPTION_TIMEOUT,
		    (unsigned int)srv->cfg->import_timeout);
}

/* The request will not be handled by api/ (refused by the service, or its
 * stream stopped): what it holds there is given back. */
static void api_drop(struct request *rq)
{
	if (rq->begun)
		api_abort(rq->ctx);
	rq->stream_live = false;
}

/* The refusals of http_head.h's checks that are answered once the body
 * has been read and dropped (like a repeated Content-Type), or
 * REFUSE_NONE.  An X-Request-Id holding an individual number is no
 * refusal here: it gets its 422 after authentication, as when it comes
 * alone (SPEC §8), however many of them there are. */
static enum refusal head_refusal(const struct request *rq,
				 const struct http_head *h)
{
	if (h->n_authorization > 1)
		return REFUSE_REPEATED_AUTH;
	if (h->n_request_id > 1 && !rq->id_is_individual_number)
		return REFUSE_REPEATED_RID;
	if (rq->target_nul != HTTP_HEAD_NUL_NONE)
		return REFUSE_TARGET_NUL;
	return REFUSE_NONE;
}

/* The body limit of rq's route: the imports' or everyone else's. */
static size_t body_limit(const struct server *srv, const struct request *rq)
{
	return rq->streaming ? srv->cfg->max_import_body : srv->cfg->max_body;
}

static void first_call(struct server *srv, struct MHD_Connection *conn,
		       struct request *rq, const char *url, const char *method,
		       const char *version)
{
	struct header_scan hs = {0};
	bool over = overloaded(srv, conn);
	size_t len = 0;
	bool declared;

	hs.check_host = srv->app->no_auth;
	MHD_get_connection_values(conn, MHD_HEADER_KIND, scan_header, &hs);
	/* a repeated X-Request-Id: neither value is echoed */
	request_id_pick(hs.head.n_request_id == 1
			    ? MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							  "X-Request-Id")
			    : NULL,
			rq->now, rq->id, &rq->id_is_individual_number);
	if (hs.head.request_id_number)
		rq->id_is_individual_number = true;
	declared = declared_length(conn, &len);
	rq->has_body = hs.chunked || len > 0;

	if (check_framing(srv, conn, rq, url, method, version))
		; /* answered at once (closes_at_once) */
	else if (hs.n_content_length > 1)
		rq->refusal = REFUSE_REPEATED_CL;
	else if (rq->absolute ? hs.check_host && !rq->authority_loopback
			      : hs.n_bad_host > 0)
		/* RFC 9112 §3.2.2: an absolute target's host stands for Host */
		rq->refusal = REFUSE_MISDIRECTED;
	else if (hs.bytes > srv->cfg->max_header)
		rq->refusal = REFUSE_HEADERS_TOO_LARGE;
	else if (hs.n_content_type > 1)
		rq->refusal = REFUSE_REPEATED_CT;
	else if (head_refusal(rq, &hs.head) != REFUSE_NONE)
		rq->refusal = head_refusal(rq, &hs.head);
	else if (!over)
		begin(srv, conn, rq, rq->path, method);
	/* one connection too many: refused whatever else it is */
	if (over)
		rq->refusal = REFUSE_OVERLOADED;
	if (rq->refusal == REFUSE_API) {
		/* refused on its head: a long body is not read */
		rq->answer_now = rq->has_body && (!declared || len > DROP_MAX);
	} else if (declared && len > body_limit(srv, rq)) {
		/* answered now, the body never stored; a refusal decided
		 * from the headers alone keeps its answer */
		api_drop(rq);
		if (rq->refusal == REFUSE_NONE)
			rq->refusal = REFUSE_TOO_LARGE;
		rq->answer_now = true;
	} else if (declared && len > 0 && !rq->streaming &&
		   rq->refusal == REFUSE_NONE) {
		rq->body_cap = len; /* the first upload allocates it */
	}
}

/* An upload call of a streamed import: no copy, the engine reads it. */
static void feed_stream(const struct config *cfg, struct request *rq,
			const char *data, size_t n)
{
	if (!rq->stream_live)
		return; /* refused: read and dropped */
	if (n > cfg->max_import_body - rq->streamed) {
		/* nothing of it is stored; the rest is read and dropped */
		api_drop(rq);
		rq->refusal = REFUSE_TOO_LARGE;
		return;
	}
	rq->streamed += n;
	api_stream_feed(rq->ctx, data, n);
}

/* Which limit of --import-timeout and --import-min-rate the import being
 * read has broken ("timeout", "too_slow"), with a detail for its answer;
 * NULL for none.  The rate is taken over windows of --import-rate-window
 * seconds, the first one starting at the last piece of the body that came
 * before a window had passed. */
static const char *import_limit(const struct config *cfg, struct request *rq,
				char *detail, size_t len)
{
	double s = ms_since(&rq->start) / 1000.0, rate;

	if (cfg->import_timeout && s >= cfg->import_timeout) {
		snprintf(detail, len,
			 "the import took more than %u s (--import-timeout): "
			 "nothing of it was stored",
			 cfg->import_timeout);
		return "timeout";
	}
	if (!cfg->import_min_rate)
		return NULL;
	if (s < cfg->import_rate_window || rq->rate_mark_s <= 0) {
		rq->rate_mark_s = s;
		rq->rate_mark_bytes = rq->streamed;
		return NULL;
	}
	if (s - rq->rate_mark_s < cfg->import_rate_window)
		return NULL;
	rate = (double)(rq->streamed - rq->rate_mark_bytes) /
	       (s - rq->rate_mark_s);
	if (rate < cfg->import_min_rate) {
		snprintf(detail, len,
			 "the import came at %.0f bytes/s over %.0f s, under "
			 "the %u of --import-min-rate: nothing of it was "
			 "stored",
			 rate, s - rq->rate_mark_s, cfg->import_min_rate);
		return "too_slow";
	}
	rq->rate_mark_s = s;
	rq->rate_mark_bytes = rq->streamed;
	return NULL;
}

/* ---- upload calls: the bounded body ------------------------------------ */

static void take_body(const struct config *cfg, struct request *rq,
		      const char *data, size_t n)
{
	size_t need;

	if (rq->refusal != REFUSE_NONE)
		return; /* read and dropped: the answer is already decided */
	if (n > cfg->max_body - rq->body_len) {
		rq->refusal = REFUSE_TOO_LARGE;
		free(rq->body);
		rq->body = NULL;
		rq->body_len = 0;
		return;
	}
	need = rq->body_len + n;
	if (rq->body == NULL || need > rq->body_cap) {
		/* exact for a declared length, else doubling up to the limit;
		 * +1 keeps a NUL after the body for the parsers' comfort */
		size_t cap = rq->body_cap;
		char *p;

		if (cap < need) {
			cap = cap < 4096 ? 4096 : cap;
			while (cap < need)
				cap *= 2;
			if (cap > cfg->max_body)
				cap = cfg->max_body;
		}
		p = realloc(rq->body, cap + 1);
		if (p == NULL) {
			/* out of memory is the server's trouble, not the
			 * client's, but a 413 is the honest answer we can
			 * still give without allocating */
			rq->refusal = REFUSE_TOO_LARGE;
			free(rq->body);
			rq->body = NULL;
			rq->body_len = 0;
			return;
		}
		rq->body = p;
		rq->body_cap = cap;
	}
	memcpy(rq->body + rq->body_len, data, n);
	rq->body_len = need;
	rq->body[need] = '\0';
}

/* ---- final call: answer ------------------------------------------------ */

/* The answers to head_refusal's refusals. */
static void refuse_head(const struct request *rq, struct api_response *resp)
{
	switch (rq->refusal) {
	case REFUSE_REPEATED_AUTH:
		api_problem_field(
		    resp, 400, "invalid_request",
		    "repeated header: Authorization (send one key)",
		    "header:Authorization");
		break;
	case REFUSE_REPEATED_RID:
		api_problem_field(resp, 400, "invalid_request",
				  "repeated header: X-Request-Id",
				  "header:X-Request-Id");
		break;
	case REFUSE_TARGET_NUL:
		api_problem_field(
		    resp, 400, "invalid_request",
		    "the URL holds %00 (a NUL character): not accepted",
		    rq->target_nul == HTTP_HEAD_NUL_PATH ? "path" : "?");
		break;
	default: break;
	}
}

static void refuse(const struct server *srv, struct request *rq,
		   const char *method, const char *url,
		   struct api_response *resp)
{
	char detail[128];

	switch (rq->refusal) {
	case REFUSE_TOO_LARGE:
		snprintf(detail, sizeof detail,
			 "The request body is larger than %zu bytes%s.",
			 rq->streaming ? srv->cfg->max_import_body
				       : srv->cfg->max_body,
			 rq->streaming ? ": nothing of it was stored" : "");
		api_problem_simple(resp, 413, "payload_too_large", detail);
		break;
	case REFUSE_HEADERS_TOO_LARGE:
		snprintf(detail, sizeof detail,
			 "The request header fields are larger than %zu bytes.",
			 srv->cfg->max_header);
		api_problem_simple(resp, 431, "request_header_fields_too_large",
				   detail);
		break;
	case REFUSE_REPEATED_CT:
		api_problem_simple(resp, 400, "invalid_request",
				   "repeated header: Content-Type");
		break;
	case REFUSE_REPEATED_CL:
		api_problem_simple(resp, 400, "invalid_request",
				   "repeated header: Content-Length");
		break;
	case REFUSE_OVERLOADED:
		api_problem_simple(resp, 503, "service_unavailable",
				   "too many connections (in all, or from this "
				   "address): retry shortly");
		if (resp->n_headers < API_MAX_HEADERS) {
			snprintf(resp->headers[resp->n_headers].name,
				 sizeof resp->headers[0].name, "Retry-After");
			snprintf(resp->headers[resp->n_headers].value,
				 sizeof resp->headers[0].value, "1");
			resp->n_headers++;
		}
		break;
	case REFUSE_MISDIRECTED:
		api_problem_simple(
		    resp, 421, "misdirected_request",
		    "without API keys (--no-auth) this server answers only "
		    "Host: localhost, 127.0.0.1 or [::1]");
		break;
	case REFUSE_FRAMING:
		api_problem_field(resp, 400, "invalid_request", rq->framing,
				  rq->framing_field ? rq->framing_field : "");
		break;
	case REFUSE_TE_UNSUPPORTED:
		api_problem_field(resp, 501, "not_implemented",
				  "this server takes no transfer coding other "
				  "than chunked (Transfer-Encoding)",
				  "header:Transfer-Encoding");
		break;
	case REFUSE_TOO_SLOW:
		snprintf(detail, sizeof detail,
			 "The request body arrived slower than %zu bytes a "
			 "second.",
			 srv->cfg->body_min_rate);
		api_problem_simple(resp, 408, "request_timeout", detail);
		break;
	case REFUSE_REPEATED_AUTH:
	case REFUSE_REPEATED_RID:
	case REFUSE_TARGET_NUL: refuse_head(rq, resp); break;
	case REFUSE_NO_MEMORY:
		api_problem_simple(resp, 500, "internal_error",
				   "out of memory");
		break;
	case REFUSE_API:
	case REFUSE_NONE: break;
	}
	/* counted and logged under its route whatever the answer: the one
	 * api_begin found, else (refused before it) the path's */
	if (!rq->begun)
		rq->route = api_route_name(method, url);
}

/* The answer of a refused request into *resp: api_begin's, kept in
 * `early`, or the service's own (refuse), with what the request held in
 * api/ given back. */
static void refusal_answer(const struct server *srv, struct request *rq,
			   const char *method, const char *url,
			   struct api_response *resp)
{
	if (rq->refusal == REFUSE_API) {
		*resp = rq->early;
		memset(&rq->early, 0, sizeof rq->early);
		return;
	}
	api_drop(rq);
	refuse(srv, rq, method, url, resp);
}

static void log_request(const struct request *rq, const char *method,
			const struct api_response *resp, bool queued)
{
	struct log_line l;

	const char *route = rq->route ? rq->route : "unmatched";
	const char *key_id = rq->begun ? api_ctx_key_id(rq->ctx) : "";

	if (rq->srv->app->metrics)
		api_metrics_request(rq->srv->app->metrics, route, resp->status,
				    ms_since(&rq->start) / 1000.0);

	log_begin(&l, queued ? LOG_INFO : LOG_WARN, "request");
	/* rq->id is never the caller's individual number: such a value was
	 * replaced by a new id on the first call */
	log_str(&l, "request_id", rq->id);
	log_strn(&l, "method", method, 16);
	log_str(&l, "route", route); /* the template, never the path */
	log_int(&l, "status", resp->status);
	log_ms(&l, "duration_ms", ms_since(&rq->start));
	if (key_id[0])
		log_str(&l, "key_id", key_id); /* the public id only */
	if (!queued)
		log_bool(&l, "queued", false);
	log_end_buffered(&l);
}

static bool has_cache_control(const struct api_response *resp)
{
	for (size_t i = 0; i < resp->n_headers && i < API_MAX_HEADERS; i++)
		if (strcasecmp(resp->headers[i].name, "Cache-Control") == 0)
			return true;
	return false;
}

/* The one list of an answer's header fields, for answer() (through
 * libmicrohttpd) and send_now() (written raw): its content type and
 * headers, X-Request-Id, Cache-Control: no-store unless it says how to
 * cache itself (the page's assets, api/ui.c), and Connection: close when
 * closing.  add returns false when a field could not be added; so does
 * this, having tried them all. */
static bool each_header(const struct request *rq,
			const struct api_response *resp, bool closing,
			bool (*add)(void *, const char *, const char *),
			void *arg)
{
	bool ok = true;

	if (resp->content_type != NULL)
		ok &=
		    add(arg, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
	for (size_t i = 0; i < resp->n_headers && i < API_MAX_HEADERS; i++)
		ok &= add(arg, resp->headers[i].name, resp->headers[i].value);
	ok &= add(arg, "X-Request-Id", rq->id);
	if (!has_cache_control(resp))
		ok &= add(arg, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (closing)
		ok &= add(arg, MHD_HTTP_HEADER_CONNECTION, "close");
	return ok;
}

static bool mhd_add(void *r, const char *name, const char *value)
{
	return MHD_add_response_header(r, name, value) == MHD_YES;
}

/* Sends resp (whose body it takes) and logs the request.  Always
 * finishes resp. */
static enum MHD_Result answer(struct MHD_Connection *conn, struct request *rq,
			      const char *method, struct api_response *resp)
{
	struct MHD_Response *r;
	enum MHD_Result ret = MHD_NO;
	bool ok = true;

	rq->answered = true;
	if (resp->body != NULL) {
		r = MHD_create_response_from_buffer_with_free_callback(
		    resp->body_len, resp->body, free);
		if (r != NULL)
			resp->body = NULL; /* MHD frees it with the response */
	} else {
		r = MHD_create_response_from_buffer(0, NULL,
						    MHD_RESPMEM_PERSISTENT);
	}
	if (r == NULL)
		goto out;
	/* Draining: a keep-alive client is told that this connection ends
	 * here, so it opens a new one (refused) instead of sending a request
	 * that the final close could cut off unanswered.  A head let by
	 * check_framing for its 422 (close_after) ends it too. */
	ok = each_header(rq, resp,
			 atomic_load(&rq->srv->stopping) || rq->close_after,
			 mhd_add, r);
	if (ok)
		ret = MHD_queue_response(conn, (unsigned)resp->status, r);
	MHD_destroy_response(r);
out:
	/* MHD_NO makes libmicrohttpd close the connection */
	log_request(rq, method, resp, ret == MHD_YES);
	api_response_fini(resp);
	return ret;
}

/* The connection is closed with its client maybe still sending: close it
 * lingering (on_connection hands it to srv->linger). */
static void mark_linger(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn_ctx *cc = ci ? ci->socket_context : NULL;

	if (cc != NULL)
		cc->linger = true;
}

/* One write of write_now: the bytes written, 0 or less when the
 * connection cannot take them, or -1 with errno EINTR to be tried again. */
typedef ssize_t (*raw_write)(const union MHD_ConnectionInfo *ci, const char *p,
			     size_t len);

static ssize_t write_tls(const union MHD_ConnectionInfo *ci, const char *p,
			 size_t len)
{
	ssize_t r =
	    gnutls_record_send((gnutls_session_t)ci->tls_session, p, len);

	if (r == GNUTLS_E_INTERRUPTED) {
		errno = EINTR;
		return -1;
	}
	return r < 0 ? 0 : r;
}

static ssize_t write_fd(const union MHD_ConnectionInfo *ci, const char *p,
			size_t len)
{
	return send(ci->connect_fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Writes len bytes of p to the client now, without waiting: true when all
 * went.  A client that has not read what it was sent before (its window
 * full) does not get it: no worker thread waits for a client. */
static bool write_now(const struct server *srv, struct MHD_Connection *conn,
		      const char *p, size_t len)
{
	bool tls = srv->tls_cert != NULL;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
	    conn, tls ? MHD_CONNECTION_INFO_GNUTLS_SESSION
		      : MHD_CONNECTION_INFO_CONNECTION_FD);
	raw_write w = tls ? write_tls : write_fd;

	if (ci != NULL && tls && ci->tls_session == NULL)
		ci = NULL;
	while (ci != NULL && len > 0) {
		ssize_t r = w(ci, p, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		p += r;
		len -= (size_t)r;
	}
	return len == 0;
}

/* The head of a raw answer being written (send_now). */
struct raw_head {
	char text[1024];
	size_t len; /* sizeof text: it did not fit (never sent) */
};

__attribute__((format(printf, 2, 3))) static void head_add(struct raw_head *h,
							   const char *fmt, ...)
{
	size_t room = sizeof h->text - h->len;
	va_list ap;
	int n;

	if (h->len >= sizeof h->text)
		return;
	va_start(ap, fmt);
	n = vsnprintf(h->text + h->len, room, fmt, ap);
	va_end(ap);
	h->len =
	    n < 0 || (size_t)n >= room ? sizeof h->text : h->len + (size_t)n;
}

static bool raw_add(void *h, const char *name, const char *value)
{
	head_add(h, "%s: %s\r\n", name, value);
	return true;
}

/* Sends resp (which it finishes) straight to the socket, in the middle of
 * the request's body, with the header fields answer() sends
 * (each_header) and Connection: close; logs the request.  The caller
 * then closes the connection (MHD_NO). */
static void send_now(struct MHD_Connection *conn, struct request *rq,
		     const char *method, struct api_response *resp)
{
	const char *reason = MHD_get_reason_phrase_for((unsigned)resp->status);
	struct raw_head h = {.len = 0};
	char date[40];
	char *msg = NULL;
	bool sent = false;
	struct tm tm;
	time_t t = time(NULL);

	rq->answered = true;
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	head_add(&h, "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Length: %zu\r\n",
		 resp->status, reason ? reason : "", date, resp->body_len);
	each_header(rq, resp, true, raw_add, &h);
	head_add(&h, "\r\n");
	if (h.len < sizeof h.text)
		msg = malloc(h.len + resp->body_len);
	if (msg != NULL) {
		memcpy(msg, h.text, h.len);
		if (resp->body_len > 0)
			memcpy(msg + h.len, resp->body, resp->body_len);
		sent = write_now(rq->srv, conn, msg, h.len + resp->body_len);
		free(msg);
	}
	log_request(rq, method, resp, sent);
	api_response_fini(resp);
}

/* Stops reading the body: nothing more of it is stored, the answer (why,
 * or the refusal already decided: api_begin's included) goes out now and
 * the connection closes lingering, instead of reading the body to its
 * end. */
static enum MHD_Result cut_body(struct server *srv, struct MHD_Connection *conn,
				struct request *rq, const char *url,
				const char *method, enum refusal why)
{
	struct api_response resp;

	free(rq->body);
	rq->body = NULL;
	rq->body_len = 0;
	memset(&resp, 0, sizeof resp);
	if (rq->refusal == REFUSE_NONE)
		rq->refusal = why;
	refusal_answer(srv, rq, method, url, &resp);
	send_now(conn, rq, method, &resp);
	mark_linger(conn);
	closing_on_purpose = true;
	return MHD_NO; /* libmicrohttpd closes it */
}

/* Tells the watchdog how much of a buffered body has come; true when it
 * comes slower than --body-min-rate (from BODY_GRACE_MS on). */
static bool body_behind(struct server *srv, const struct request *rq)
{
	watchdog_body(srv->wd, rq->cc ? rq->cc->wd : 0, rq->received);
	return watchdog_body_too_slow(&srv->wd_limits, rq->received,
				      (int64_t)ms_since(&rq->start));
}

/* The import being read broke a limit (import_limit): its transaction
 * rolls back, the cut is logged, and the 408 goes out now, as
 * cut_body's 413 does (libmicrohttpd 0.9.75 takes no answer while a
 * body is being read), and the connection closes lingering, so that a
 * client still sending reads it rather than a reset. */
static enum MHD_Result cut_import(struct MHD_Connection *conn,
				  struct request *rq, const char *method,
				  const char *why, const char *detail)
{
	struct api_response resp;
	struct log_line l;

	rq->stream_live = false;
	log_begin(&l, LOG_WARN, "import_cut");
	log_str(&l, "request_id", rq->id);
	log_str(&l, "reason", why);
	log_int(&l, "bytes", (long long)rq->streamed);
	log_ms(&l, "duration_ms", ms_since(&rq->start));
	log_end(&l);
	api_stream_cut(rq->ctx, &resp, detail);
	send_now(conn, rq, method, &resp);
	mark_linger(conn);
	closing_on_purpose = true;
	return MHD_NO; /* libmicrohttpd closes it */
}

/* The connection's context (socket context), or NULL. */
static struct conn_ctx *conn_ctx_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

static enum MHD_Result final_call(struct server *srv,
				  struct MHD_Connection *conn,
				  struct request *rq, const char *url,
				  const char *method)
{
	struct api_response resp;

	memset(&resp, 0, sizeof resp);
	if (rq->refusal != REFUSE_NONE) {
		refusal_answer(srv, rq, method, url, &resp);
		return answer(conn, rq, method, &resp);
	}
	/* the request of the first call, with its body (not a stream's) */
	rq->stream_live = false;
	rq->req.body = rq->body_len > 0 ? rq->body : NULL;
	rq->req.body_len = rq->body_len;
	api_end(rq->ctx, &resp);
	return answer(conn, rq, method, &resp);
}

/* A piece of the body (n bytes at data): stored (buffered), fed to the
 * import (streamed), or dropped (refused), unless a limit is broken. */
static enum MHD_Result upload_call(struct server *srv,
				   struct MHD_Connection *conn,
				   struct request *rq, const char *method,
				   const char *data, size_t n)
{
	const char *url = rq->path;
	char detail[192];
	const char *why;

	rq->received =
	    n > SIZE_MAX - rq->received ? SIZE_MAX : rq->received + n;
	/* past its limit (a chunked body: no length was declared) */
	if (rq->received > body_limit(srv, rq))
		return cut_body(srv, conn, rq, url, method, REFUSE_TOO_LARGE);
	/* refused on its head: a long body is not read on */
	if (rq->refusal == REFUSE_API && rq->received > DROP_MAX)
		return cut_body(srv, conn, rq, url, method, REFUSE_TOO_LARGE);
	/* the rate of a body that is not a live import's: the watchdog's (a
	 * refused import's dropped body too); an import's: import_limit's */
	if (!rq->stream_live && body_behind(srv, rq))
		return cut_body(srv, conn, rq, url, method, REFUSE_TOO_SLOW);
	if (!rq->streaming) {
		take_body(srv->cfg, rq, data, n);
		return MHD_YES;
	}
	feed_stream(srv->cfg, rq, data, n);
	why = rq->stream_live
		  ? import_limit(srv->cfg, rq, detail, sizeof detail)
		  : NULL;
	if (why)
		return cut_import(conn, rq, method, why, detail);
	return MHD_YES;
}

/* libmicrohttpd's URI log callback, called when a request line has been
 * read, with its target as sent (the query not yet cut off, nothing
 * decoded): the only place where a "%00" can still be seen, and where a
 * NUL byte of the client's has not yet cut the target short.  Makes the
 * request context, which on_request then finds in *req_cls, with what
 * head_refusal ("%00") and check_framing (a NUL byte, a space or a
 * control character: libmicrohttpd, not strict so that a request without
 * Host reaches check_framing, would take a target with a space in it)
 * read of the target. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct request *rq = calloc(1, sizeof *rq);

	(void)cls;
	(void)conn;
	if (rq == NULL)
		return NULL; /* on_request closes the connection */
	rq->target_nul = http_head_target_nul(uri);
	rq->target = uri;
	rq->target_len = uri != NULL ? strlen(uri) : 0;
	for (size_t i = 0; i < rq->target_len; i++)
		if ((unsigned char)uri[i] <= ' ' || uri[i] == 0x7f)
			rq->target_bad = true;
	return rq;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct server *srv = cls;
	struct request *rq = *req_cls;

	closing_on_purpose = false;
	if (rq == NULL)
		/* on_uri, which makes it, could not: the target unread, the
		 * request is not served (this closes the connection) */
		return MHD_NO;
	if (!rq->started) {
		rq->started = true;
		rq->srv = srv;
		clock_gettime(CLOCK_MONOTONIC, &rq->start);
		rq->now = realtime_now();
		atomic_fetch_add(&srv->in_flight, 1);
		*req_cls = rq;
		rq->cc = conn_ctx_of(conn);
		rq->path = url;
		first_call(srv, conn, rq, url, method, version);
		url = rq->path;
		/* The connection must close when its framing is in doubt or
		 * its declared body is refused unread, or when it is one too
		 * many: answering now is what makes libmicrohttpd skip the
		 * body and close.  A client still sending gets a lingering
		 * close, to read the answer. */
		if (closes_at_once(rq->refusal) || rq->answer_now) {
			struct api_response resp;

			memset(&resp, 0, sizeof resp);
			refusal_answer(srv, rq, method, url, &resp);
			if (rq->has_body)
				mark_linger(conn);
			watchdog_head(srv->wd, rq->cc ? rq->cc->wd : 0, false);
			return answer(conn, rq, method, &resp);
		}
		/* the head is in; a body that is not a live import's (one
		 * buffered, or read and dropped after a refusal) is timed */
		watchdog_head(srv->wd, rq->cc ? rq->cc->wd : 0,
			      rq->has_body && !rq->stream_live);
		return MHD_YES;
	}
	url = rq->path;
	if (rq->answered) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		return upload_call(srv, conn, rq, method, upload_data, n);
	}
	watchdog_busy(srv->wd, rq->cc ? rq->cc->wd : 0);
	return final_call(srv, conn, rq, url, method);
}

static const char *termination_name(enum MHD_RequestTerminationCode toe)
{
	switch (toe) {
	case MHD_REQUEST_TERMINATED_COMPLETED_OK: return "completed";
	case MHD_REQUEST_TERMINATED_WITH_ERROR: return "error";
	case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED: return "timeout";
	case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN: return "shutdown";
	case MHD_REQUEST_TERMINATED_READ_ERROR: return "read_error";
	case MHD_REQUEST_TERMINATED_CLIENT_ABORT: return "client_abort";
	}
	return "unknown";
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct server *srv = cls;
	struct request *rq = *req_cls;

	(void)conn;
	if (rq == NULL)
		return; /* the first call failed to allocate */
	if (!rq->started) {
		/* libmicrohttpd refused the head itself: nothing counted */
		free(rq);
		*req_cls = NULL;
		return;
	}
	if (!rq->answered) {
		struct log_line l;

		log_begin(&l, LOG_INFO, "request_aborted");
		log_str(&l, "request_id", rq->id);
		log_str(&l, "reason", termination_name(toe));
		log_ms(&l, "duration_ms", ms_since(&rq->start));
		log_end(&l);
	}
	/* keep-alive: the next head's deadline runs from now */
	watchdog_idle(srv->wd, rq->cc ? rq->cc->wd : 0);
	/* a client gone mid-import: roll it back; the place held in the
	 * audit queue goes back */
	api_drop(rq);
	if (rq->own_ctx)
		api_ctx_free(rq->ctx);
	api_response_fini(&rq->early);
	free(rq->body);
	free(rq);
	*req_cls = NULL;
	atomic_fetch_sub(&srv->in_flight, 1);
}

/* libmicrohttpd's own messages (connection limits, socket errors) as log
 * lines.  A few of 0.9.75's messages ("Failed to send the response ...
 * for the request for `%s'") interpolate the request's URL, which can hold
 * a person id: those are logged as their format string, unfilled. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	if (strstr(fmt, "request for") != NULL)
		snprintf(msg, sizeof msg, "%s", fmt);
	else
		vsnprintf(msg, sizeof msg, fmt, ap);
	if (closing_on_purpose &&
	    strstr(msg, "Application reported internal error") != NULL) {
		closing_on_purpose = false;
		return;
	}
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_event(LOG_WARN, "http", msg);
}

/* ---- start and stop ---------------------------------------------------- */

/* The whole PEM file as a new NUL-terminated string (libmicrohttpd takes
 * the certificate and key from memory), or NULL with err. */
static char *read_pem(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f) {
		snprintf(err, errlen, "TLS file %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
	    n < (1L << 20) && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
			buf[n] = '\0';
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	if (!buf)
		snprintf(err, errlen, "TLS file %s: cannot read it", path);
	return buf;
}

/* The client address of conn as 16 bytes (IPv4 in the first 4). */
static bool client_addr(struct MHD_Connection *conn, unsigned char out[16])
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	memset(out, 0, 16);
	if (!sa)
		return false;
	if (sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return true;
	}
	return false;
}

/* Counts a connection of addr in or out; returns its slot + 1 (0 when
 * the table is full: that client is then not counted). */
static uintptr_t ip_count_add(struct server *srv, const unsigned char a[16],
			      int delta, uintptr_t slot1)
{
	unsigned h, i, k;

	pthread_mutex_lock(&srv->ip_lock);
	if (delta < 0) {
		if (slot1 && srv->ips[slot1 - 1].count)
			srv->ips[slot1 - 1].count--;
		pthread_mutex_unlock(&srv->ip_lock);
		return slot1;
	}
	h = base_fnv1a32(BASE_FNV32_INIT, a, 16);
	for (k = 0; k < IP_SLOTS; k++) {
		i = (h + k) % IP_SLOTS;
		if (srv->ips[i].count == 0 ||
		    memcmp(srv->ips[i].addr, a, 16) == 0) {
			memcpy(srv->ips[i].addr, a, 16);
			srv->ips[i].count++;
			pthread_mutex_unlock(&srv->ip_lock);
			return i + 1;
		}
	}
	pthread_mutex_unlock(&srv->ip_lock);
	return 0;
}

/* The socket of a connection closed with its body unread goes on to
 * srv->linger rather than being closed (and reset) now: libmicrohttpd
 * calls this just before it closes its descriptor, so a duplicate keeps
 * the socket open (epoll: it removes the descriptor itself first). */
static void hand_to_linger(struct server *srv, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	int fd;

	if (ci == NULL || ci->connect_fd == MHD_INVALID_SOCKET)
		return;
	fd = fcntl(ci->connect_fd, F_DUPFD_CLOEXEC, 0);
	if (fd >= 0)
		linger_pool_add(srv->linger, fd);
}

/* Once stopping, a new connection is closed as soon as it is accepted, so
 * a client learns at once that this server is going away.  (Not
 * MHD_quiesce_daemon: in 0.9.75 with a thread pool on epoll it races the
 * workers, which take the listen socket out of their epoll sets by
 * themselves, and panics with "Failed to remove listen FD from epoll set"
 * when a worker was first — about one stop in 30 under load here.) */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr,
				     socklen_t addrlen)
{
	const struct server *srv = cls;

	(void)addr;
	(void)addrlen;
	return atomic_load(&srv->stopping) ? MHD_NO : MHD_YES;
}

/* A new connection is watched (service/watchdog.h); when it is one over
 * --max-connections, the connections that have waited longest for a
 * request head are cut to make room: clients that send nothing useful,
 * from however many addresses, cannot keep a new one out. */
static void watch_connection(struct server *srv, struct MHD_Connection *conn,
			     struct conn_ctx *cc, unsigned open)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	unsigned cutting;

	if (ci != NULL && ci->connect_fd != MHD_INVALID_SOCKET)
		cc->wd = watchdog_add(srv->wd, ci->connect_fd);
	cutting = watchdog_cutting(srv->wd);
	if (open > srv->cfg->max_connections + cutting)
		watchdog_evict(srv->wd,
			       open - srv->cfg->max_connections - cutting,
			       cc->wd);
}

static void on_connection(void *cls, struct MHD_Connection *conn,
			  void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct server *srv = cls;
	unsigned char addr[16];
	struct conn_ctx *cc;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		unsigned open = atomic_fetch_add(&srv->open_connections, 1) + 1;

		/* NULL (out of memory): the connection is not counted */
		cc = calloc(1, sizeof *cc);
		if (cc != NULL && client_addr(conn, addr))
			cc->slot1 = ip_count_add(srv, addr, 1, 0);
		if (cc != NULL)
			watch_connection(srv, conn, cc, open);
		*socket_context = cc;
	} else {
		cc = *socket_context;
		atomic_fetch_sub(&srv->open_connections, 1);
		if (cc != NULL) {
			/* before libmicrohttpd closes the descriptor */
			watchdog_remove(srv->wd, cc->wd);
			ip_count_add(srv, NULL, -1, cc->slot1);
			if (cc->linger)
				hand_to_linger(srv, conn);
			api_ctx_free(cc->api);
			free(cc);
		}
		*socket_context = NULL;
	}
	if (srv->app->metrics)
		api_metrics_connection(
		    srv->app->metrics,
		    code == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1);
}

/* Is this connection one of those let in over a limit? */
static bool overloaded(struct server *srv, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	const struct conn_ctx *cc = ci ? ci->socket_context : NULL;
	uintptr_t slot1 = cc ? cc->slot1 : 0;
	unsigned per_ip = 0;

	/* those being cut (watch_connection) are as good as closed */
	if (atomic_load(&srv->open_connections) >
	    srv->cfg->max_connections + watchdog_cutting(srv->wd))
		return true;
	if (slot1) {
		pthread_mutex_lock(&srv->ip_lock);
		per_ip = srv->ips[slot1 - 1].count;
		pthread_mutex_unlock(&srv->ip_lock);
	}
	return per_ip > srv->cfg->max_per_ip;
}

/* What server_start made before the daemon failed to start, freed (the
 * mutex is left as it was: nothing waits on it). */
static void start_undo(struct server *srv)
{
	free(srv->tls_cert);
	free(srv->tls_key);
	linger_pool_free(srv->linger);
	watchdog_free(srv->wd);
	free(srv);
}

/* How the daemon waits for its sockets (epoll where there is one), and
 * IPv6 when the address is one. */
static unsigned poll_flags(const struct config *cfg)
{
	unsigned flags = 0;

	if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES)
		flags |= MHD_USE_EPOLL;
	else if (MHD_is_feature_supported(MHD_FEATURE_POLL) == MHD_YES)
		flags |= MHD_USE_POLL;
	if (cfg->addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	return flags;
}

/* Reads the certificate and key into srv and fills the daemon's TLS
 * options; -1 with the reason in err (nothing left allocated). */
static int tls_options(struct server *srv, const struct config *cfg,
		       struct MHD_OptionItem tls[4], char *err, size_t errlen)
{
	srv->tls_cert = read_pem(cfg->tls_cert, err, errlen);
	srv->tls_key =
	    srv->tls_cert ? read_pem(cfg->tls_key, err, errlen) : NULL;
	if (!srv->tls_key) {
		free(srv->tls_cert);
		srv->tls_cert = NULL;
		return -1;
	}
	tls[0] =
	    (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls_key};
	tls[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0,
					 srv->tls_cert};
	/* libmicrohttpd's default is GnuTLS's NORMAL: TLS 1.0 and static-RSA
	 * suites included */
	tls[2] = (struct MHD_OptionItem){
	    MHD_OPTION_HTTPS_PRIORITIES, 0,
	    (void *)(cfg->tls_priorities != NULL
			 ? cfg->tls_priorities
			 : CONFIG_TLS_PRIORITIES_DEFAULT)};
	return 0;
}

struct server *server_start(const struct config *cfg, const struct api_app *app,
			    char *err, size_t errlen)
{
	unsigned flags =
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;
	struct MHD_OptionItem tls[4] = {{MHD_OPTION_END, 0, NULL},
					{MHD_OPTION_END, 0, NULL},
					{MHD_OPTION_END, 0, NULL},
					{MHD_OPTION_END, 0, NULL}};
	struct server *srv;

	srv = calloc(1, sizeof *srv);
	if (srv == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->cfg = cfg;
	srv->app = app;
	pthread_mutex_init(&srv->ip_lock, NULL);
	atomic_init(&srv->in_flight, 0);
	atomic_init(&srv->stopping, false);
	srv->linger = linger_pool_new(LINGER_MAX, LINGER_BYTES, LINGER_TIME_MS,
				      LINGER_IDLE_MS);
	srv->wd_limits = (struct watchdog_limits){
	    cfg->header_timeout * 1000u, cfg->body_min_rate, BODY_GRACE_MS};
	/* as many as libmicrohttpd lets in */
	srv->wd =
	    watchdog_new(cfg->max_connections + OVER_SLACK, &srv->wd_limits);
	if (srv->linger == NULL || srv->wd == NULL) {
		snprintf(err, errlen, "out of memory or threads");
		linger_pool_free(srv->linger);
		watchdog_free(srv->wd);
		pthread_mutex_destroy(&srv->ip_lock);
		free(srv);
		return NULL;
	}

	flags |= poll_flags(cfg);
	if (cfg->tls_cert) {
		if (tls_options(srv, cfg, tls, err, errlen) != 0) {
			start_undo(srv);
			return NULL;
		}
		flags |= MHD_USE_TLS;
	}

	/* the port argument is ignored when MHD_OPTION_SOCK_ADDR is given */
	srv->daemon = MHD_start_daemon(
	    flags, cfg->port, accept_policy, srv, on_request, srv,
	    /* first, so that every message of the start goes through it */
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
	    (const struct sockaddr *)&cfg->addr, MHD_OPTION_THREAD_POOL_SIZE,
	    (unsigned int)cfg->threads, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned int)cfg->idle_timeout, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned int)(cfg->max_connections + OVER_SLACK),
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    (unsigned int)(cfg->max_per_ip + OVER_SLACK),
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)(cfg->max_header + POOL_SLACK),
	    /* not 1: 0.9.75 answers a missing Host twice (check_framing) */
	    MHD_OPTION_STRICT_FOR_CLIENT, (int)0, MHD_OPTION_URI_LOG_CALLBACK,
	    on_uri, srv, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv, MHD_OPTION_ARRAY,
	    tls, MHD_OPTION_END);
	if (srv->daemon == NULL) {
		snprintf(err, errlen,
			 "cannot listen on %s port %u (in use, not an address "
			 "of this host, or a bad TLS certificate or key?)",
			 cfg->host, (unsigned)cfg->port);
		start_undo(srv);
		return NULL;
	}
	info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = info != NULL ? info->port : cfg->port;
	return srv;
}

uint16_t server_port(const struct server *srv)
{
	return srv->port;
}

unsigned server_stop(struct server *srv, unsigned drain_ms)
{
	unsigned left;

	if (srv == NULL)
		return 0;
	/* new connections are closed on accept from now on (accept_policy);
	 * connections already open go on */
	atomic_store(&srv->stopping, true);
	for (unsigned waited = 0;; waited += 10) {
		struct timespec ts = {0, 10 * 1000 * 1000};

		left = atomic_load(&srv->in_flight);
		if (left == 0 || waited >= drain_ms)
			break;
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(srv->daemon);
	/* after the daemon: its last closes may still hand sockets over */
	linger_pool_free(srv->linger);
	watchdog_free(srv->wd);
	free(srv->tls_cert);
	free(srv->tls_key);
	pthread_mutex_destroy(&srv->ip_lock);
	free(srv);
	return left;
}
