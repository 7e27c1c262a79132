/* test_json.c - api/json_read.c reads what jansson's json_loadb(...,
 * JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL) reads, builds equal documents,
 * refuses what it refuses, and says where; the arena path
 * (api/json_arena.c) agrees and rewinds.  tests/fuzz/fuzz_json.c does the same on random bytes. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/internal.h"

/* What api_json_read reads (api/json_read.c). */
#define JSON_FLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)

static void setup(void)
{
	api_json_arena_install();
}

TestSuite(json, .init = setup);

static json_t *ours(const char *s, size_t n, json_error_t *e)
{
	return api_json_read(s, n, e);
}

/* Accepted by both, equal documents. */
static void accepts(const char *s, size_t n)
{
	json_error_t e1, e2;
	json_t *ref = json_loadb(s, n, JSON_FLAGS, &e1);
	json_t *got = ours(s, n, &e2), *arena;

	cr_assert_not_null(ref, "jansson refuses %s: bad test", s);
	cr_assert_not_null(got, "refused %s: %s at %d", s, e2.text,
			   e2.position);
	cr_assert(json_equal(ref, got), "%s: documents differ", s);
	arena = api_json_loadb(s, n, &e2);
	cr_assert(arena && json_equal(ref, arena), "%s: arena differs", s);
	json_decref(arena);
	json_decref(ref);
	json_decref(got);
}

/* Refused by both; ours says where (a byte within the input). */
static void refuses(const char *s, size_t n)
{
	json_error_t e1, e2;
	json_t *ref = json_loadb(s, n, JSON_FLAGS, &e1);
	json_t *got = ours(s, n, &e2);

	cr_assert_null(ref, "jansson accepts %s: bad test", s);
	cr_assert_null(got, "accepted %s", s);
	cr_assert(e2.position >= 0 && (size_t)e2.position <= n,
		  "%s: position %d", s, e2.position);
	cr_assert(e2.line >= 1);
	cr_assert(e2.text[0] != '\0');
}

#define ACCEPTS(lit) accepts(lit, sizeof(lit) - 1)
#define REFUSES(lit) refuses(lit, sizeof(lit) - 1)

Test(json, reads_what_jansson_reads)
{
	ACCEPTS("{}");
	ACCEPTS("[]");
	ACCEPTS(" \t\r\n{ } \n");
	ACCEPTS(
	    "{\"as_of\":\"2025-06-01\",\"person\":{\"birth_date\":"
	    "\"1948-09-09\",\"care_needs\":[\"elderly\",\"pin_difficulty\"],"
	    "\"x\":null,\"t\":true,\"f\":false}}");
	ACCEPTS("[0,-0,1,-1,123456789018,9223372036854775807,"
		"-9223372036854775808]");
	ACCEPTS("[0.5,-1.25e3,1E-2,2e+10,1e-400,0.0,-0.0]");
	ACCEPTS("[\"\",\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"]");
	ACCEPTS("[\"\\u00e9\\u65e5\\uFFFF\\ud83d\\ude00\"]");
	ACCEPTS("[\"日本語\",\"é\",\"\xf0\x9f\x98\x80\",\"\x7f\"]");
	ACCEPTS("{\"a\":{\"a\":{\"a\":[[[]]]}},\"b\":[{},{\"a\":1}]}");
	ACCEPTS("{\"\":1,\"\\u0061\":2,\"b\":3}");
	ACCEPTS("[\"\\u0000\",\"a\\u0000b\",\"\\u0000\\u0000\"]");
	ACCEPTS("{\"display_name\":\"x\\u0000\"}");
}

Test(json, refuses_what_jansson_refuses)
{
	REFUSES("");
	REFUSES("   ");
	REFUSES("1");
	REFUSES("\"s\"");
	REFUSES("null");
	REFUSES("{");
	REFUSES("{\"a\"");
	REFUSES("{\"a\":");
	REFUSES("{\"a\":1,}");
	REFUSES("[1,]");
	REFUSES("[1 2]");
	REFUSES("{\"a\" 1}");
	REFUSES("{a:1}");
	REFUSES("{} {}");
	REFUSES("{}x");
	REFUSES("[01]");
	REFUSES("[1.]");
	REFUSES("[.5]");
	REFUSES("[1e]");
	REFUSES("[-]");
	REFUSES("[+1]");
	REFUSES("[0x10]");
	REFUSES("[NaN]");
	REFUSES("[Infinity]");
	REFUSES("[tru]");
	REFUSES("[nul]");
	REFUSES("[9223372036854775808]");
	REFUSES("[-9223372036854775809]");
	REFUSES("[1e400]");
	REFUSES("[-1e400]");
	REFUSES("[\"a]");
	REFUSES("[\"a\\\"]");
	REFUSES("[\"\\x\"]");
	REFUSES("[\"\\u12\"]");
	REFUSES("[\"\\u12G4\"]");
	/* \u0000: in a value yes (validation refuses it as a control
	 * character), in a key never. */
	REFUSES("{\"a\\u0000b\":1}");
	REFUSES("{\"\\u0000\":1}");
	REFUSES("[\"\\ud83d\"]");
	REFUSES("[\"\\ud83dx\"]");
	REFUSES("[\"\\ud83d\\u0041\"]");
	REFUSES("[\"\\ude00\"]");
	REFUSES("[\"a\tb\"]");
	REFUSES("[\"\x01\"]");
	REFUSES("[\"\xc0\xaf\"]");         /* overlong '/' */
	REFUSES("[\"\xe0\x80\xaf\"]");     /* overlong */
	REFUSES("[\"\xed\xa0\x80\"]");     /* a surrogate in UTF-8 */
	REFUSES("[\"\xf4\x90\x80\x80\"]"); /* past U+10FFFF */
	REFUSES("[\"\xff\"]");
	REFUSES("[\"\xe6\x97\"]"); /* truncated */
	REFUSES("{\"a\":1,\"a\":2}");
	REFUSES("{\"a\":1,\"\\u0061\":2}");
	REFUSES("[\"a\" \xe6\x97\xa5]");
}

Test(json, a_raw_nul_is_an_error)
{
	json_error_t e;

	/* jansson accepts "[1\0]" as [1]; a NUL byte is never JSON */
	cr_assert_null(ours("[1\0]", 4, &e));
	cr_assert_eq(e.position, 2);
	cr_assert_null(ours("[\"a\0\"]", 6, &e));
	cr_assert_null(ours("{}\0", 3, &e));
}

Test(json, errors_say_where_and_never_quote_the_input)
{
	json_error_t e;
	const char *s = "{\"secret\":\n  \"x\",\n  \"b\": tru}";

	cr_assert_null(ours(s, strlen(s), &e));
	cr_assert_eq(e.line, 3);
	cr_assert_eq(e.column, 7);
	cr_assert_eq(e.position, (int)(strstr(s, "tru") - s));
	cr_assert_null(strstr(e.text, "secret"));
	cr_assert_null(strstr(e.text, "tru"));
}

Test(json, nesting_stops_at_2048_levels)
{
	size_t depth, i;

	for (depth = 2047; depth <= 2049; depth++) {
		char *s = malloc(2 * depth + 1);
		json_error_t e1, e2;
		json_t *ref, *got;

		for (i = 0; i < depth; i++) {
			s[i] = '[';
			s[2 * depth - 1 - i] = ']';
		}
		s[2 * depth] = '\0';
		ref = json_loadb(s, 2 * depth, JSON_FLAGS, &e1);
		got = ours(s, 2 * depth, &e2);
		cr_assert_eq(!ref, !got, "depth %zu", depth);
		cr_assert_eq(!got, depth > 2048, "depth %zu", depth);
		json_decref(ref);
		json_decref(got);
		free(s);
	}
}

Test(json, long_escaped_strings_leave_the_stack_buffer)
{
	size_t n = 5000, i;
	char *s = malloc(n * 2 + 8), *want = malloc(n + 1);
	json_error_t e;
	json_t *doc;

	strcpy(s, "[\"");
	for (i = 0; i < n; i++) {
		s[2 + 2 * i] = '\\';
		s[3 + 2 * i] = 'n';
		want[i] = '\n';
	}
	want[n] = '\0';
	strcpy(s + 2 + 2 * n, "\"]");
	doc = ours(s, strlen(s), &e);
	cr_assert_not_null(doc);
	cr_assert_eq(json_string_length(json_array_get(doc, 0)), n);
	cr_assert_str_eq(json_string_value(json_array_get(doc, 0)), want);
	json_decref(doc);
	free(s);
	free(want);
}

/* Many documents alive at once on one thread: the arena is not rewound
 * under them, and all stay intact. */
Test(json, the_arena_keeps_live_documents)
{
	json_t *docs[200];
	json_error_t e;
	char s[64];
	int i;

	for (i = 0; i < 200; i++) {
		snprintf(s, sizeof s, "{\"i\":%d,\"s\":\"v%d\"}", i, i);
		docs[i] = api_json_loadb(s, strlen(s), &e);
		cr_assert_not_null(docs[i]);
	}
	for (i = 0; i < 200; i++) {
		snprintf(s, sizeof s, "v%d", i);
		cr_assert_eq(json_integer_value(json_object_get(docs[i], "i")),
			     i);
		cr_assert_str_eq(
		    json_string_value(json_object_get(docs[i], "s")), s);
	}
	for (i = 0; i < 200; i++)
		json_decref(docs[i]);
	/* everything freed: the next document starts the arena afresh */
	docs[0] = api_json_loadb("[1]", 3, &e);
	cr_assert_not_null(docs[0]);
	json_decref(docs[0]);
}
