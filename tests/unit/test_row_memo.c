/* Unit tests of api/row_memo.c: a row is found only under the very key it
 * was kept with (id, ETag, as_of, today, rules), so a changed person, a
 * new day or other rules are misses; a slot holds the last row put. */
#include <criterion/criterion.h>
#include <string.h>

#include "api/row_memo.h"

static struct api_row_key key(const char *id, const char *etag)
{
	struct api_row_key k = {id, etag, 20000, 20001, 42};

	return k;
}

static bool found(struct api_row_memo *m, const struct api_row_key *k,
		  const char *want)
{
	struct api_row_summary s;
	char json[API_ROW_MEMO_JSON_MAX];
	size_t n = 0;

	if (!api_row_memo_get(m, k, &s, json, &n))
		return false;
	cr_assert_eq(n, strlen(want));
	cr_assert(memcmp(json, want, n) == 0);
	return true;
}

Test(row_memo, a_row_is_found_under_its_key_only)
{
	struct api_row_memo *m = api_row_memo_new(1024);
	struct api_row_summary sum = {true, true, false, 2, 20010, 20020}, got;
	struct api_row_key k = key("p1", "00112233aabbccdd"), other;
	struct api_row_memo_stats st;
	char json[API_ROW_MEMO_JSON_MAX];
	size_t n;

	cr_assert_not_null(m);
	cr_assert_not(found(m, &k, ""));
	api_row_memo_put(m, &k, &sum, "{\"a\":1}", 7);
	cr_assert(api_row_memo_get(m, &k, &got, json, &n));
	cr_assert(memcmp(&got, &sum, sizeof sum) == 0);
	cr_assert(found(m, &k, "{\"a\":1}"));
	other = k;
	other.etag = "00112233aabbccde"; /* the person changed */
	cr_assert_not(found(m, &other, ""));
	other = k;
	other.today = k.today + 1; /* Tokyo midnight */
	cr_assert_not(found(m, &other, ""));
	other = k;
	other.as_of = k.as_of - 1;
	cr_assert_not(found(m, &other, ""));
	other = k;
	other.rules = 43;
	cr_assert_not(found(m, &other, ""));
	other = k;
	other.id = "p2";
	cr_assert_not(found(m, &other, ""));
	other.id = "p"; /* a prefix of the id */
	cr_assert_not(found(m, &other, ""));
	api_row_memo_stats(m, &st);
	cr_assert_eq(st.hits, 2);
	cr_assert_eq(st.misses, 7);
	api_row_memo_free(m);
}

Test(row_memo, a_slot_holds_the_last_row_put)
{
	struct api_row_memo *m = api_row_memo_new(1); /* one slot for all */
	struct api_row_summary sum = {0};
	struct api_row_key a = key("a", "1"), b = key("b", "2"),
			   a2 = key("a", "3");

	api_row_memo_put(m, &a, &sum, "A", 1);
	api_row_memo_put(m, &b, &sum, "B", 1);
	cr_assert_not(found(m, &a, "A"));
	cr_assert(found(m, &b, "B"));
	api_row_memo_put(m, &a2, &sum, "A2", 2);
	cr_assert_not(found(m, &a, "A"));
	cr_assert(found(m, &a2, "A2"));
	api_row_memo_free(m);
}

Test(row_memo, what_it_does_not_keep)
{
	static char big[API_ROW_MEMO_JSON_MAX + 1];
	struct api_row_memo *m = api_row_memo_new(64);
	struct api_row_summary sum = {0};
	struct api_row_key k = key("p1", "1"), tag = key("p2", "");

	cr_assert_null(api_row_memo_new(0));
	cr_assert_null(api_row_memo_new(3)); /* not a power of two */
	memset(big, 'x', sizeof big);
	api_row_memo_put(m, &k, &sum, big, sizeof big);
	cr_assert_not(found(m, &k, ""));
	tag.etag = "00112233aabbccdd0"; /* longer than an ETag */
	api_row_memo_put(m, &tag, &sum, "T", 1);
	cr_assert_not(found(m, &tag, "T"));
	api_row_memo_free(m);
	api_row_memo_free(NULL);
}
