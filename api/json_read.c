/* json_read.c - a strict JSON reader for request bodies and import lines.
 *
 * jansson's own reader takes its input a byte at a time through a callback
 * and spent 3.6 µs on a 300-byte evaluate body on this machine (15 % of
 * the server's time on that route under `make bench`); this one scans the
 * buffer directly and builds the same jansson values in ~a third of the
 * time.  It accepts exactly what json_loadb(buf, len,
 * JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL) accepts and builds an equal
 * document:
 * tests/unit/test_json.c and the fuzz target tests/fuzz/fuzz_json.c hold
 * the two side by side.
 *
 *   - RFC 8259 text whose top level is an object or an array, nothing but
 *     white space after it;
 *   - strings of valid UTF-8 (no overlong forms, no surrogates, nothing
 *     past U+10FFFF), no control characters, escapes as the RFC lists
 *     them, \u surrogates only in pairs; \u0000 in a value (validation
 *     refuses it where it matters: a NUL is a control character, and no
 *     name or enum value has one) but never in a key, which the C API
 *     reads as a C string;
 *   - a number without fraction or exponent is an integer and must fit
 *     json_int_t; any other is a real and must not overflow;
 *   - no key twice in one object; at most 2048 levels of nesting.
 *
 * One difference, on purpose: jansson drops a NUL byte that follows a
 * number ("[1\0]" reads as [1]); a raw NUL is never JSON, and here it is
 * an error.
 *
 * Errors give the byte position (err->position), line and column; the
 * text never quotes the input. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

#define MAX_DEPTH 2048
/* Escaped strings are decoded here when they fit (most do). */
#define STACK_STR 256

struct reader {
	const unsigned char *p, *start, *end;
	json_error_t *err;
	bool failed;
};

static json_t *read_value(struct reader *r, unsigned depth);

static void fail(struct reader *r, const unsigned char *at, const char *text)
{
	const unsigned char *c;
	int line = 1, column = 0;

	if (r->failed)
		return;
	r->failed = true;
	if (!r->err)
		return;
	/* Lines and columns are only counted when something is wrong. */
	for (c = r->start; c < at && c < r->end; c++) {
		if (*c == '\n') {
			line++;
			column = 0;
		} else if ((*c & 0xC0) != 0x80) {
			column++;
		}
	}
	r->err->line = line;
	r->err->column = column;
	r->err->position = (int)(at - r->start);
	snprintf(r->err->source, sizeof r->err->source, "<buffer>");
	snprintf(r->err->text, sizeof r->err->text, "%s", text);
}

static void skip_space(struct reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' ||
				 *r->p == '\r' || *r->p == '\t'))
		r->p++;
}

/* The length of the UTF-8 sequence at p (1-4), or 0 when it is not one
 * (RFC 3629 table: no overlong forms, no surrogates, ≤ U+10FFFF). */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0];
	size_t avail = (size_t)(end - p);

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;
		unsigned char hi = c == 0xED ? 0x9F : 0xBF;

		return avail >= 3 && p[1] >= lo && p[1] <= hi &&
			       (p[2] & 0xC0) == 0x80
			   ? 3
			   : 0;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		unsigned char lo = c == 0xF0 ? 0x90 : 0x80;
		unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;

		return avail >= 4 && p[1] >= lo && p[1] <= hi &&
			       (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80
			   ? 4
			   : 0;
	}
	return 0;
}

static int hex4(const unsigned char *p)
{
	int v = 0, i;

	for (i = 0; i < 4; i++) {
		unsigned char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

static size_t put_utf8(unsigned char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xC0 | (cp >> 6));
		out[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xE0 | (cp >> 12));
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (unsigned char)(0xF0 | (cp >> 18));
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Decodes the escapes of the string body [from, to) (already checked to
 * be valid UTF-8 without control characters) into out, which has room
 * for to - from bytes (an escape never decodes longer than itself). */
static bool unescape(struct reader *r, const unsigned char *from,
		     const unsigned char *to, unsigned char *out, size_t *len)
{
	const unsigned char *p = from;
	size_t n = 0;
	int cp, lo;

	while (p < to) {
		if (*p != '\\') {
			out[n++] = *p++;
			continue;
		}
		switch (p[1]) {
		case '"': out[n++] = '"'; break;
		case '\\': out[n++] = '\\'; break;
		case '/': out[n++] = '/'; break;
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'n': out[n++] = '\n'; break;
		case 'r': out[n++] = '\r'; break;
		case 't': out[n++] = '\t'; break;
		case 'u':
			cp = hex4(p + 2);
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				lo = p + 11 < to + 1 && p[6] == '\\' &&
					     p[7] == 'u'
					 ? hex4(p + 8)
					 : -1;
				if (lo < 0xDC00 || lo > 0xDFFF) {
					fail(r, p, "invalid Unicode escape");
					return false;
				}
				n += put_utf8(
				    out + n,
				    0x10000 + (((uint32_t)cp - 0xD800) << 10) +
					((uint32_t)lo - 0xDC00));
				p += 12;
				continue;
			}
			if (cp >= 0xDC00 && cp <= 0xDFFF) {
				fail(r, p, "invalid Unicode escape");
				return false;
			}
			n += put_utf8(out + n, (uint32_t)cp);
			p += 6;
			continue;
		default: break; /* checked by read_string */
		}
		p += 2;
	}
	*len = n;
	return true;
}

/* Reads the string at r->p (the opening quote) into *s and *len: a pointer
 * into the input when it has no escapes, else into buf (of cap bytes) or
 * a malloc'd block stored in *heap.  Returns false on a malformed one. */
static bool read_string(struct reader *r, const unsigned char **s, size_t *len,
			unsigned char *buf, size_t cap, unsigned char **heap)
{
	const unsigned char *from = ++r->p, *p = from;
	bool escaped = false;
	unsigned char *out;
	size_t k;

	*heap = NULL;
	for (;;) {
		if (p >= r->end) {
			fail(r, p, "premature end of input in a string");
			return false;
		}
		if (*p == '"')
			break;
		if (*p < 0x20) {
			fail(r, p, "control character in a string");
			return false;
		}
		if (*p == '\\') {
			escaped = true;
			if (p + 1 >= r->end) {
				fail(r, p,
				     "premature end of input in a string");
				return false;
			}
			switch (p[1]) {
			case '"':
			case '\\':
			case '/':
			case 'b':
			case 'f':
			case 'n':
			case 'r':
			case 't': p += 2; continue;
			case 'u':
				if (r->end - p < 6 || hex4(p + 2) < 0) {
					fail(r, p, "invalid \\u escape");
					return false;
				}
				p += 6;
				continue;
			default: fail(r, p, "invalid escape"); return false;
			}
		}
		if (*p < 0x80) {
			p++;
			continue;
		}
		k = utf8_len(p, r->end);
		if (!k) {
			fail(r, p, "invalid UTF-8 in a string");
			return false;
		}
		p += k;
	}
	r->p = p + 1;
	if (!escaped) {
		*s = from;
		*len = (size_t)(p - from);
		return true;
	}
	out = buf;
	if ((size_t)(p - from) > cap) {
		*heap = malloc((size_t)(p - from));
		if (!*heap) {
			fail(r, from, "out of memory");
			return false;
		}
		out = *heap;
	}
	if (!unescape(r, from, p, out, len)) {
		free(*heap);
		*heap = NULL;
		return false;
	}
	*s = out;
	return true;
}

/* Past one or more digits at p, or NULL when there is none. */
static const unsigned char *digits(const struct reader *r,
				   const unsigned char *p)
{
	const unsigned char *from = p;

	while (p < r->end && *p >= '0' && *p <= '9')
		p++;
	return p > from ? p : NULL;
}

static json_t *read_number(struct reader *r)
{
	const unsigned char *from = r->p, *p = r->p;
	bool real = false;
	char tmp[64], *num = tmp, *end;
	size_t n;
	json_t *v = NULL;

	if (p < r->end && *p == '-')
		p++;
	if (p < r->end && *p == '0') {
		p++;
	} else if (p < r->end && *p >= '1' && *p <= '9') {
		while (p < r->end && *p >= '0' && *p <= '9')
			p++;
	} else {
		fail(r, from, "invalid token");
		return NULL;
	}
	if (p < r->end && *p == '.') {
		real = true;
		p = digits(r, p + 1);
	}
	if (p && p < r->end && (*p == 'e' || *p == 'E')) {
		real = true;
		p++;
		if (p < r->end && (*p == '+' || *p == '-'))
			p++;
		p = digits(r, p);
	}
	if (!p) {
		fail(r, from, "invalid number");
		return NULL;
	}
	n = (size_t)(p - from);
	if (n >= sizeof tmp) {
		num = malloc(n + 1);
		if (!num) {
			fail(r, from, "out of memory");
			return NULL;
		}
	}
	memcpy(num, from, n);
	num[n] = '\0';
	errno = 0;
	if (!real) {
		long long i = strtoll(num, &end, 10);

		if (errno == ERANGE)
			fail(r, from,
			     i < 0 ? "too big negative integer"
				   : "too big integer");
		else
			v = json_integer((json_int_t)i);
	} else {
		double d = strtod(num, &end);

		if (errno == ERANGE && (d > 1.0 || d < -1.0))
			fail(r, from, "real number overflow");
		else
			v = json_real(d);
	}
	if (num != tmp)
		free(num);
	if (!v && !r->failed)
		fail(r, from, "out of memory");
	r->p = p;
	return v;
}

static bool read_word(struct reader *r, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0) {
		fail(r, r->p, "invalid token");
		return false;
	}
	r->p += n;
	return true;
}

/* One "key": value member of obj, r->p at the key's quote. */
static bool read_member(struct reader *r, json_t *obj, unsigned depth)
{
	unsigned char buf[STACK_STR], *heap = NULL;
	const unsigned char *key, *at = r->p;
	bool ok = false;
	json_t *v;
	size_t len;

	if (r->p >= r->end || *r->p != '"') {
		fail(r, r->p, "string or '}' expected");
		return false;
	}
	if (!read_string(r, &key, &len, buf, sizeof buf, &heap))
		return false;
	skip_space(r);
	if (memchr(key, '\0', len)) {
		fail(r, at, "NUL byte in object key not supported");
	} else if (json_object_getn(obj, (const char *)key, len)) {
		fail(r, at, "duplicate object key");
	} else if (r->p >= r->end || *r->p != ':') {
		fail(r, r->p, "':' expected");
	} else {
		r->p++;
		skip_space(r);
		v = read_value(r, depth);
		/* setn_new steals v, also when it fails */
		ok = v && json_object_setn_new_nocheck(obj, (const char *)key,
						       len, v) == 0;
		if (v && !ok)
			fail(r, at, "out of memory");
	}
	free(heap);
	return ok;
}

/* An object or an array, r->p at its '{' or '['. */
static json_t *read_container(struct reader *r, unsigned depth)
{
	bool object = *r->p == '{';
	char close = object ? '}' : ']';
	json_t *c = object ? json_object() : json_array(), *v;

	if (!c) {
		fail(r, r->p, "out of memory");
		return NULL;
	}
	r->p++;
	skip_space(r);
	if (r->p < r->end && *r->p == close) {
		r->p++;
		return c;
	}
	for (;;) {
		if (object) {
			if (!read_member(r, c, depth))
				break;
		} else {
			v = read_value(r, depth);
			if (!v)
				break;
			if (json_array_append_new(c, v) != 0) {
				fail(r, r->p, "out of memory");
				break;
			}
		}
		skip_space(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			skip_space(r);
			continue;
		}
		if (r->p < r->end && *r->p == close) {
			r->p++;
			return c;
		}
		fail(r, r->p, object ? "'}' expected" : "']' expected");
		break;
	}
	json_decref(c);
	return NULL;
}

static json_t *read_value(struct reader *r, unsigned depth)
{
	unsigned char buf[STACK_STR], *heap;
	const unsigned char *s;
	size_t len;
	json_t *v;

	if (r->p >= r->end) {
		fail(r, r->p, "premature end of input");
		return NULL;
	}
	switch (*r->p) {
	case '{':
	case '[':
		if (depth >= MAX_DEPTH) {
			fail(r, r->p, "maximum parsing depth reached");
			return NULL;
		}
		return read_container(r, depth + 1);
	case '"':
		if (!read_string(r, &s, &len, buf, sizeof buf, &heap))
			return NULL;
		v = json_stringn_nocheck((const char *)s, len);
		free(heap);
		if (!v)
			fail(r, r->p, "out of memory");
		return v;
	case 't': return read_word(r, "true") ? json_true() : NULL;
	case 'f': return read_word(r, "false") ? json_false() : NULL;
	case 'n': return read_word(r, "null") ? json_null() : NULL;
	default: return read_number(r);
	}
}

json_t *api_json_read(const char *buf, size_t len, json_error_t *err)
{
	struct reader r = {(const unsigned char *)buf,
			   (const unsigned char *)buf,
			   (const unsigned char *)buf + len, err, false};
	json_t *doc;

	skip_space(&r);
	if (r.p >= r.end || (*r.p != '{' && *r.p != '[')) {
		fail(&r, r.p, "'[' or '{' expected");
		return NULL;
	}
	doc = read_value(&r, 0);
	if (!doc)
		return NULL;
	skip_space(&r);
	if (r.p != r.end) {
		fail(&r, r.p, "end of file expected");
		json_decref(doc);
		return NULL;
	}
	return doc;
}
