/* test_base.c - the one place each of base/: ids (ULID form, time
 * prefix), Tokyo times (across midnight in Tokyo, 15:00 UTC), FNV-1a
 * against its published values, JSON string escaping. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "base/fnv.h"
#include "base/json_str.h"
#include "base/tokyo_time.h"
#include "base/ulid.h"

static bool crockford_only(const char *s)
{
	return strspn(s, "0123456789ABCDEFGHJKMNPQRSTVWXYZ") == strlen(s);
}

Test(base, ulid_is_26_crockford_characters)
{
	char a[BASE_ULID_LEN + 1], b[BASE_ULID_LEN + 1];

	base_ulid_new(a, 1748790000.0);
	base_ulid_new(b, 1748790000.0);
	cr_expect_eq(strlen(a), 26);
	cr_expect(crockford_only(a), "%s", a);
	cr_expect_str_neq(a, b, "two ids of the same millisecond differ");
	cr_expect_eq(memcmp(a, b, 10), 0, "%s %s", a, b);
}

Test(base, ulid_time_prefix_is_the_millisecond_and_sorts)
{
	char a[BASE_ULID_LEN + 1], b[BASE_ULID_LEN + 1];

	/* the example of the ULID specification: 1469918176385 ms */
	base_ulid_new(a, 1469918176.385);
	cr_expect_eq(memcmp(a, "01ARYZ6S41", 10), 0, "%.10s", a);
	base_ulid_new(a, 0);
	cr_expect_eq(memcmp(a, "0000000000", 10), 0, "%.10s", a);
	base_ulid_new(a, -5);
	cr_expect_eq(memcmp(a, "0000000000", 10), 0, "%.10s", a);
	for (double t = 1748790000.0; t < 1748790000.2; t += 0.0101) {
		base_ulid_new(a, t);
		base_ulid_new(b, t + 0.002);
		cr_expect_lt(memcmp(a, b, 10), 0, "%s !< %s", a, b);
	}
}

Test(base, tokyo_time_crosses_the_date_at_15_utc)
{
	char s[BASE_TOKYO_TIME_LEN + 1], ms[BASE_TOKYO_TIME_MS_LEN + 1];

	/* 2025-06-01T15:00:00Z */
	base_tokyo_time(1748790000.0, s);
	cr_expect_str_eq(s, "2025-06-02T00:00:00+09:00");
	base_tokyo_time(1748789999.999, s);
	cr_expect_str_eq(s, "2025-06-01T23:59:59+09:00");
	base_tokyo_time_ms(1748789999999, ms);
	cr_expect_str_eq(ms, "2025-06-01T23:59:59.999+09:00");
	base_tokyo_time_ms(1748790000007, ms);
	cr_expect_str_eq(ms, "2025-06-02T00:00:00.007+09:00");
	/* the per-thread text of the last second follows a step back */
	base_tokyo_time(1748789999.5, s);
	cr_expect_str_eq(s, "2025-06-01T23:59:59+09:00");
	cr_expect_eq(strlen(s), BASE_TOKYO_TIME_LEN);
	cr_expect_eq(strlen(ms), BASE_TOKYO_TIME_MS_LEN);
}

Test(base, tokyo_time_before_1970_floors)
{
	char ms[BASE_TOKYO_TIME_MS_LEN + 1], s[BASE_TOKYO_TIME_LEN + 1];

	base_tokyo_time_ms(-1, ms);
	cr_expect_str_eq(ms, "1970-01-01T08:59:59.999+09:00");
	base_tokyo_time(-0.5, s);
	cr_expect_str_eq(s, "1970-01-01T08:59:59+09:00");
	base_tokyo_time(0, s);
	cr_expect_str_eq(s, "1970-01-01T09:00:00+09:00");
}

Test(base, fnv1a_gives_the_published_values)
{
	cr_expect_eq(base_fnv1a32(BASE_FNV32_INIT, "", 0), 0x811c9dc5u);
	cr_expect_eq(base_fnv1a32(BASE_FNV32_INIT, "a", 1), 0xe40c292cu);
	cr_expect_eq(base_fnv1a32(BASE_FNV32_INIT, "foobar", 6), 0xbf9cf968u);
	cr_expect_eq(base_fnv1a64(BASE_FNV64_INIT, "a", 1),
		     0xaf63dc4c8601ec8cull);
	cr_expect_eq(base_fnv1a64(BASE_FNV64_INIT, "foobar", 6),
		     0x85944171f73967e8ull);
	/* in pieces as at once */
	cr_expect_eq(
	    base_fnv1a64(base_fnv1a64(BASE_FNV64_INIT, "foo", 3), "bar", 3),
	    0x85944171f73967e8ull);
}

Test(base, json_escapes_controls_quotes_and_keeps_utf8)
{
	static const char in[] = "a\"b\\c\n\r\t\x01\x1f\x7f"
				 "日本 é";
	static const char want[] = "\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u001f"
				   "\\u007f日本 é\"";
	struct api_buf b;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	api_buf_init(&b, 256);
	api_buf_json_strn(&b, in, sizeof in - 1);
	cr_assert_not_null(b.data);
	cr_expect_str_eq(b.data, want);
	api_buf_fini(&b);

	f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	cr_expect_eq(base_json_fputs(in, f), 0);
	fclose(f);
	cr_expect_str_eq(text, want);
	free(text);
}

Test(base, json_escape_of_every_byte_that_needs_one)
{
	char esc[BASE_JSON_ESCAPE_MAX + 1];

	for (int c = 0; c < 256; c++) {
		bool must = c < 0x20 || c == '"' || c == '\\' || c == 0x7f;

		cr_expect_eq(base_json_must_escape((unsigned char)c), must,
			     "byte %d", c);
		if (!must)
			continue;
		esc[base_json_escape((unsigned char)c, esc)] = '\0';
		cr_expect_eq(esc[0], '\\');
		if (strlen(esc) == 6) {
			unsigned v = 0;

			cr_expect_eq(sscanf(esc, "\\u%4x", &v), 1, "%s", esc);
			cr_expect_eq(v, (unsigned)c, "%s", esc);
		}
	}
}

/* api_buf_printf once failed the whole buffer past 511 bytes. */
Test(base, buf_printf_of_any_length)
{
	char big[2000];
	struct api_buf b;

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	api_buf_init(&b, 1 << 20);
	api_buf_printf(&b, "<%d>", 7);
	api_buf_printf(&b, "%s|%s", big, "end");
	cr_assert_not(b.failed);
	cr_expect_eq(b.len, 3 + 1999 + 4);
	cr_expect_eq(memcmp(b.data, "<7>xx", 5), 0);
	cr_expect_str_eq(b.data + b.len - 4, "|end");
	api_buf_fini(&b);

	/* the bound still holds */
	api_buf_init(&b, 1000);
	api_buf_printf(&b, "%s", big);
	cr_expect(b.failed);
	api_buf_fini(&b);
}
