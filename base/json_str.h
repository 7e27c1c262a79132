/* json_str.h - which bytes of a JSON string are escaped, and how: the one
 * rule for every JSON the service writes (api/buf.c's answers, the log
 * lines of service/log.c, `rules diff --json`).  Control characters and
 * DEL as \u00XX (\n, \r, \t by their short names), '"' and '\\' with a
 * backslash; every other byte, UTF-8 included, as it is. */
#ifndef SHIKAKU_BASE_JSON_STR_H
#define SHIKAKU_BASE_JSON_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define BASE_JSON_ESCAPE_MAX 6 /* "\u001f" */

static inline bool base_json_must_escape(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\' || c == 0x7F;
}

/* Writes the escape of c (one that base_json_must_escape) into out, no
 * NUL; returns its length, 2 or 6. */
size_t base_json_escape(unsigned char c, char out[BASE_JSON_ESCAPE_MAX]);

/* Writes s (borrowed, NUL-terminated) to f as a JSON string, quotes
 * included.  Returns 0, or -1 when f refused a write. */
int base_json_fputs(const char *s, FILE *f);

#endif
