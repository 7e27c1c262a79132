/* json_str.c - see json_str.h. */
#include "base/json_str.h"

#include <string.h>

size_t base_json_escape(unsigned char c, char out[BASE_JSON_ESCAPE_MAX])
{
	static const char hex[] = "0123456789abcdef";

	out[0] = '\\';
	switch (c) {
	case '"': out[1] = '"'; return 2;
	case '\\': out[1] = '\\'; return 2;
	case '\n': out[1] = 'n'; return 2;
	case '\r': out[1] = 'r'; return 2;
	case '\t': out[1] = 't'; return 2;
	default:
		out[1] = 'u';
		out[2] = '0';
		out[3] = '0';
		out[4] = hex[c >> 4];
		out[5] = hex[c & 15];
		return 6;
	}
}

int base_json_fputs(const char *s, FILE *f)
{
	char esc[BASE_JSON_ESCAPE_MAX];
	size_t i, run = 0, n = strlen(s);
	int bad = fputc('"', f) == EOF;

	for (i = 0; i < n; i++) {
		if (!base_json_must_escape((unsigned char)s[i]))
			continue;
		bad |= fwrite(s + run, 1, i - run, f) != i - run;
		bad |=
		    fwrite(esc, 1, base_json_escape((unsigned char)s[i], esc),
			   f) == 0;
		run = i + 1;
	}
	bad |= fwrite(s + run, 1, n - run, f) != n - run;
	bad |= fputc('"', f) == EOF;
	return bad ? -1 : 0;
}
