/* http_head.h - checks of a request's head that libmicrohttpd 0.9.75 does
 * not make, or makes in a way that hides what the client sent.  Those of
 * its framing (Transfer-Encoding, Host, NUL bytes, folding as such) are in
 * framing.h.
 *
 * server.c feeds every header field to http_head_field on the first call
 * of a request, and the raw request target (before libmicrohttpd decodes
 * it) to http_head_target_nul; it answers from the result.  Nothing here
 * knows about libmicrohttpd, so the unit tests can drive it.
 *
 * What 0.9.75 does with the head, and why each check is here:
 *   - A repeated field is kept twice; MHD_lookup_connection_value answers
 *     the first.  A second X-Request-Id or Authorization would go unseen:
 *     both are counted.
 *   - An obs-fold continuation line (RFC 9112 §5.2) is appended to the
 *     field's NAME, not its value: "X-Request-Id: 1234\r\n 56789018"
 *     arrives as the field "X-Request-Id56789018" = "1234".  A field whose
 *     name starts with X-Request-Id is therefore read as a folded one, for
 *     individual numbers (a fold is otherwise refused, framing.h).
 *   - "%00" in the request target is decoded to a NUL that ends the C
 *     string: "/v1/persons/pB%00123456789018" would be served as
 *     "/v1/persons/pB".
 */
#ifndef SHIKAKU_SERVICE_HTTP_HEAD_H
#define SHIKAKU_SERVICE_HTTP_HEAD_H

#include <stdbool.h>

struct http_head {
	unsigned n_request_id;    /* X-Request-Id fields (not folded ones) */
	unsigned n_authorization; /* Authorization fields */
	/* A field named X-Request-Id and more: folded (or another field of
	 * a longer name, which cannot be told apart).  Only read for
	 * individual numbers: refusing it would refuse X-Request-Id-Orig. */
	bool request_id_folded;
	/* Some X-Request-Id field holds an individual number: its whole
	 * value, a comma- or space-separated element of it, or a folded
	 * value put back together (SPEC §8). */
	bool request_id_number;
};

/* Call with *h zeroed, then once per header field (borrowed strings;
 * value may be NULL). */
void http_head_field(struct http_head *h, const char *name, const char *value);

enum http_head_nul {
	HTTP_HEAD_NUL_NONE = 0,
	HTTP_HEAD_NUL_PATH,  /* "%00" in the path */
	HTTP_HEAD_NUL_QUERY, /* "%00" in the query only */
};

/* Where the raw request target (as on the request line, NULL allowed)
 * holds a percent-encoded NUL. */
enum http_head_nul http_head_target_nul(const char *raw_target);

#endif
