/* buf.c - bounded growing buffer and the JSON writing the hot paths use.
 *
 * Decisions are written by hand rather than through jansson: building and
 * dumping an object tree costs more than the whole rest of a request. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

void api_buf_init(struct api_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
	b->failed = false;
}

void api_buf_fini(struct api_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Makes room for n more bytes plus a NUL. */
static bool buf_reserve(struct api_buf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (b->failed)
		return false;
	if (n > b->max || b->len + n + 1 > b->max) {
		b->failed = true;
		return false;
	}
	need = b->len + n + 1;
	if (need <= b->cap)
		return true;
	cap = b->cap ? b->cap : 1024;
	while (cap < need)
		cap *= 2;
	if (cap > b->max)
		cap = b->max;
	p = realloc(b->data, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void api_buf_add(struct api_buf *b, const char *s, size_t n)
{
	if (!buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void api_buf_printf(struct api_buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		b->failed = true;
		return;
	}
	api_buf_add(b, tmp, (size_t)n);
}

void api_buf_json_strn(struct api_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;

	api_buf_add(b, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		api_buf_add(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': api_buf_add(b, "\\\"", 2); break;
		case '\\': api_buf_add(b, "\\\\", 2); break;
		case '\n': api_buf_add(b, "\\n", 2); break;
		case '\r': api_buf_add(b, "\\r", 2); break;
		case '\t': api_buf_add(b, "\\t", 2); break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			api_buf_add(b, esc, 6);
		}
	}
	api_buf_add(b, s + run, n - run);
	api_buf_add(b, "\"", 1);
}

void api_buf_json_str(struct api_buf *b, const char *s)
{
	if (!s)
		api_buf_add(b, "null", 4);
	else
		api_buf_json_strn(b, s, strlen(s));
}

void api_buf_json_date(struct api_buf *b, int32_t day)
{
	char d[11];

	if (day == RULES_NO_DATE) {
		api_buf_add(b, "null", 4);
		return;
	}
	rules_date_format(day, d);
	api_buf_add(b, "\"", 1);
	api_buf_add(b, d, 10);
	api_buf_add(b, "\"", 1);
}

#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD */

/* The next character of s[0..n) (n > 0): its length when it may be shown
 * as it is; else 0, with *bad the bytes that become one U+FFFD (the whole
 * sequence of a control character, one byte of an invalid sequence). */
static size_t text_char(const unsigned char *s, size_t n, size_t *bad)
{
	unsigned char c = s[0];
	size_t len, i;
	uint32_t cp, min;

	*bad = 1;
	if (c < 0x80)
		return c < 0x20 || c == 0x7F ? 0 : 1;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		cp = c & 0x1F;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		cp = c & 0x0F;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		cp = c & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	*bad = len;
	if (cp <= 0x9F || (cp >= 0x202A && cp <= 0x202E) ||
	    (cp >= 0x2066 && cp <= 0x2069))
		return 0;
	return len;
}

void api_buf_add_text_safe(struct api_buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, start = 0, k, bad;

	while (i < n) {
		k = text_char(u + i, n - i, &bad);
		if (k) {
			i += k;
			continue;
		}
		api_buf_add(b, s + start, i - start);
		api_buf_add(b, REPLACEMENT, sizeof REPLACEMENT - 1);
		i += bad;
		start = i;
	}
	api_buf_add(b, s + start, i - start);
}

void api_copy_text_safe(char *dst, size_t dstlen, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, o = 0, k, bad, len;
	const char *piece;

	while (i < n) {
		k = text_char(u + i, n - i, &bad);
		piece = k ? s + i : REPLACEMENT;
		len = k ? k : sizeof REPLACEMENT - 1;
		if (len > dstlen - 1 - o)
			break;
		memcpy(dst + o, piece, len);
		o += len;
		i += k ? k : bad;
	}
	dst[o] = '\0';
}

char *api_buf_take(struct api_buf *b, size_t *len)
{
	char *p;

	if (b->failed || !buf_reserve(b, 0)) {
		api_buf_fini(b);
		return NULL;
	}
	p = b->data;
	*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}
