/* framing.h - the checks of a request's HTTP/1.1 framing (RFC 9112) that
 * libmicrohttpd 0.9.75 does not make, as functions of what it hands over.
 *
 * libmicrohttpd reads a body as chunked when Transfer-Encoding is exactly
 * "chunked", and otherwise, with any Transfer-Encoding, to the end of the
 * connection, and it lets Transfer-Encoding win over Content-Length; it
 * takes any number of Host fields, and a field value up to its first NUL
 * byte.  A proxy in front may read the same bytes otherwise (request
 * smuggling), so such requests are refused (service/server.c).
 */
#ifndef SHIKAKU_SERVICE_FRAMING_H
#define SHIKAKU_SERVICE_FRAMING_H

#include <stdbool.h>
#include <stddef.h>

/* The Transfer-Encoding fields of a request, read one by one. */
struct framing_te {
	unsigned fields;  /* Transfer-Encoding fields */
	unsigned chunked; /* "chunked" codings */
	unsigned
	    identity;   /* "identity" codings (not a coding since RFC 7230) */
	unsigned other; /* any other coding (gzip, deflate, ...) */
	unsigned empty; /* empty list members */
};

enum framing_te_verdict {
	FRAMING_TE_NONE,        /* no Transfer-Encoding */
	FRAMING_TE_CHUNKED,     /* exactly one coding, chunked: read it */
	FRAMING_TE_BAD,         /* 400: identity, chunked twice, empty */
	FRAMING_TE_UNSUPPORTED, /* 501: a coding this server does not do */
};

/* Adds the codings of one Transfer-Encoding field value (a comma-separated
 * list; NULL counts as empty). */
void framing_te_add(struct framing_te *te, const char *value);

/* What the fields added so far say.  A coding other than chunked or
 * identity wins (501, as nginx answers); then anything but a lone
 * "chunked" is malformed (400). */
enum framing_te_verdict framing_te_verdict(const struct framing_te *te);

enum framing_target {
	FRAMING_TARGET_ORIGIN,   /* "/path" (or anything else not absolute) */
	FRAMING_TARGET_ABSOLUTE, /* "http://host[:port]/path" */
	FRAMING_TARGET_BAD,      /* absolute, but no host, or a userinfo */
};

/* Reads a request target as libmicrohttpd hands it over (the query cut
 * off).  *path (borrowed from url, or the static "/") is the path to
 * route: url itself, or an absolute target's path (RFC 9112 §3.2.2: a
 * server must accept the absolute form).  For an absolute target,
 * *authority and *authority_len (borrowed, not NUL-terminated) give its
 * host[:port], which stands for the Host field. */
enum framing_target framing_target(const char *url, const char **path,
				   const char **authority,
				   size_t *authority_len);

/* Is v a valid Host field value: uri-host [":" port], where uri-host is a
 * reg-name, an IPv4 address or an [IP-literal] (RFC 9110 §7.2, RFC 3986);
 * empty is valid.  n bytes of v are read. */
bool framing_host_valid(const char *v, size_t n);

/* Does [from, to) hold more than the ends of lines?  libmicrohttpd parses
 * the head in place, writing NULs over each line's CR LF (or bare LF):
 * what lies between the end of a field value (its first NUL) and the
 * start of the next field name is then at most max NULs (2: one line end;
 * 4 after the last field: its line end and the empty line's), unless the
 * value held a NUL byte of the client's (the rest of the value, or one
 * more NUL, follows) or was folded over lines (the continuation follows).
 * NULL or an empty range: false.  (A NUL right before a bare LF cannot be
 * told from a CR: it cuts nothing off.) */
bool framing_stray_bytes(const char *from, const char *to, size_t max);

#endif
