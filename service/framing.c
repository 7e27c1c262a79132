/* framing.c - see framing.h. */
#include "service/framing.h"

#include <string.h>
#include <strings.h>

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

void framing_te_add(struct framing_te *te, const char *value)
{
	const char *p = value != NULL ? value : "";

	te->fields++;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);

		while (n > 0 && is_ows(*p)) {
			p++;
			n--;
		}
		while (n > 0 && is_ows(p[n - 1]))
			n--;
		if (n == 0)
			te->empty++;
		else if (n == 7 && strncasecmp(p, "chunked", 7) == 0)
			te->chunked++;
		else if (n == 8 && strncasecmp(p, "identity", 8) == 0)
			te->identity++;
		else
			te->other++;
		if (end == NULL)
			break;
		p = end + 1;
	}
}

enum framing_te_verdict framing_te_verdict(const struct framing_te *te)
{
	if (te->fields == 0)
		return FRAMING_TE_NONE;
	if (te->other > 0)
		return FRAMING_TE_UNSUPPORTED;
	if (te->chunked == 1 && te->identity == 0 && te->empty == 0)
		return FRAMING_TE_CHUNKED;
	return FRAMING_TE_BAD;
}

enum framing_target framing_target(const char *url, const char **path,
				   const char **authority,
				   size_t *authority_len)
{
	const char *auth, *end;
	size_t skip;

	*path = url;
	*authority = NULL;
	*authority_len = 0;
	if (strncasecmp(url, "http://", 7) == 0)
		skip = 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		skip = 8;
	else
		return FRAMING_TARGET_ORIGIN;
	auth = url + skip;
	end = strchr(auth, '/');
	if (end == NULL)
		end = auth + strlen(auth);
	/* RFC 9110 §4.2.4: a userinfo is an error in an http(s) URI */
	if (end == auth || memchr(auth, '@', (size_t)(end - auth)) != NULL)
		return FRAMING_TARGET_BAD;
	*authority = auth;
	*authority_len = (size_t)(end - auth);
	*path = *end == '/' ? end : "/";
	return FRAMING_TARGET_ABSOLUTE;
}

/* RFC 3986: unreserved / pct-encoded / sub-delims, the reg-name's bytes */
static bool reg_name_byte(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("-._~%!$&'()*+,;=", c) != NULL;
}

bool framing_host_valid(const char *v, size_t n)
{
	size_t i = 0;

	if (n > 0 && v[0] == '[') {
		/* IP-literal: hex digits, ':' and '.' (IPv6, IPv4-mapped),
		 * up to the closing bracket */
		for (i = 1; i < n && v[i] != ']'; i++) {
			unsigned char c = (unsigned char)v[i];

			if (!((c >= '0' && c <= '9') ||
			      (c >= 'a' && c <= 'f') ||
			      (c >= 'A' && c <= 'F') || c == ':' || c == '.'))
				return false;
		}
		if (i == n || i == 1)
			return false;
		i++;
	} else {
		while (i < n && reg_name_byte((unsigned char)v[i]))
			i++;
	}
	if (i == n)
		return true;
	if (v[i] != ':')
		return false;
	for (i++; i < n; i++)
		if (v[i] < '0' || v[i] > '9')
			return false;
	return true;
}

bool framing_stray_bytes(const char *from, const char *to, size_t max)
{
	if (from == NULL || to == NULL || to <= from)
		return false;
	if ((size_t)(to - from) > max)
		return true;
	for (const char *p = from; p < to; p++)
		if (*p != '\0')
			return true;
	return false;
}
