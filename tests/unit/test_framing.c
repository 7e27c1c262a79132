/* test_framing.c - the framing checks of service/framing.c: Transfer-Encoding
 * lists, absolute-form targets, Host values, and what may lie between two
 * header fields in libmicrohttpd's buffer. */
#include <criterion/criterion.h>
#include <string.h>

#include "service/framing.h"

static enum framing_te_verdict te_of(const char *a, const char *b)
{
	struct framing_te te;

	memset(&te, 0, sizeof te);
	if (a != NULL)
		framing_te_add(&te, a);
	if (b != NULL)
		framing_te_add(&te, b);
	return framing_te_verdict(&te);
}

Test(framing, transfer_encoding_lists)
{
	static const struct {
		const char *a, *b;
		enum framing_te_verdict want;
	} cases[] = {
	    {NULL, NULL, FRAMING_TE_NONE},
	    {"chunked", NULL, FRAMING_TE_CHUNKED},
	    {"Chunked", NULL, FRAMING_TE_CHUNKED},
	    {" chunked\t", NULL, FRAMING_TE_CHUNKED},
	    {"gzip", NULL, FRAMING_TE_UNSUPPORTED},
	    {"gzip, chunked", NULL, FRAMING_TE_UNSUPPORTED},
	    {"chunked, gzip", NULL, FRAMING_TE_UNSUPPORTED},
	    {"chunked", "gzip", FRAMING_TE_UNSUPPORTED},
	    {"chunked;ext=1", NULL, FRAMING_TE_UNSUPPORTED},
	    {"identity", NULL, FRAMING_TE_BAD},
	    {"identity, chunked", NULL, FRAMING_TE_BAD},
	    {"chunked, chunked", NULL, FRAMING_TE_BAD},
	    {"chunked", "chunked", FRAMING_TE_BAD},
	    {"chunked,", NULL, FRAMING_TE_BAD},
	    {"", NULL, FRAMING_TE_BAD},
	    {" ", NULL, FRAMING_TE_BAD},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		cr_expect_eq(te_of(cases[i].a, cases[i].b), cases[i].want,
			     "case %zu: %s / %s", i,
			     cases[i].a ? cases[i].a : "(none)",
			     cases[i].b ? cases[i].b : "(none)");
}

/* The transfer codings test of wt-tls's http_head.c (whose reading of
 * Transfer-Encoding became framing.c's), its inputs kept: identity is 400
 * (FRAMING_TE_BAD), gzip 501 (FRAMING_TE_UNSUPPORTED).  An empty field,
 * let by there, is refused here. */
Test(framing, http_head_transfer_codings)
{
	struct framing_te te;

	cr_assert_eq(te_of("chunked", NULL), FRAMING_TE_CHUNKED);
	cr_assert_eq(te_of(" Chunked ", NULL), FRAMING_TE_CHUNKED);
	cr_assert_eq(te_of("identity", NULL), FRAMING_TE_BAD);
	cr_assert_eq(te_of("IDENTITY", NULL), FRAMING_TE_BAD);
	cr_assert_eq(te_of("identity, chunked", NULL), FRAMING_TE_BAD);
	cr_assert_eq(te_of("chunked", "identity"), FRAMING_TE_BAD);
	cr_assert_eq(te_of("gzip, chunked", NULL), FRAMING_TE_UNSUPPORTED);
	memset(&te, 0, sizeof te);
	framing_te_add(&te, "");
	cr_assert_eq(te.fields, 1);
	cr_assert_eq(framing_te_verdict(&te), FRAMING_TE_BAD);
}

Test(framing, targets)
{
	static const struct {
		const char *url;
		enum framing_target want;
		const char *path, *authority;
	} cases[] = {
	    {"/healthz", FRAMING_TARGET_ORIGIN, "/healthz", NULL},
	    {"*", FRAMING_TARGET_ORIGIN, "*", NULL},
	    {"http://127.0.0.1/healthz", FRAMING_TARGET_ABSOLUTE, "/healthz",
	     "127.0.0.1"},
	    {"HTTPS://h:8443/v1/rules", FRAMING_TARGET_ABSOLUTE, "/v1/rules",
	     "h:8443"},
	    {"http://[::1]:80/a/b", FRAMING_TARGET_ABSOLUTE, "/a/b",
	     "[::1]:80"},
	    {"http://localhost", FRAMING_TARGET_ABSOLUTE, "/", "localhost"},
	    {"http:///healthz", FRAMING_TARGET_BAD, NULL, NULL},
	    {"http://u@h/", FRAMING_TARGET_BAD, NULL, NULL},
	    {"http:/x", FRAMING_TARGET_ORIGIN, "http:/x", NULL},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *path, *auth;
		size_t alen;
		enum framing_target t =
		    framing_target(cases[i].url, &path, &auth, &alen);

		cr_expect_eq(t, cases[i].want, "%s", cases[i].url);
		if (cases[i].path != NULL)
			cr_expect_str_eq(path, cases[i].path, "%s",
					 cases[i].url);
		if (cases[i].authority != NULL) {
			cr_expect_eq(alen, strlen(cases[i].authority));
			cr_expect_eq(memcmp(auth, cases[i].authority, alen), 0,
				     "%s", cases[i].url);
		}
	}
}

Test(framing, host_values)
{
	static const char *const good[] = {"",
					   "localhost",
					   "LocalHost:8080",
					   "127.0.0.1",
					   "[::1]",
					   "[::1]:8080",
					   "[::ffff:127.0.0.1]",
					   "a-b.example_x~:1",
					   "h:",
					   "127.0.0.1:123456"};
	static const char *const bad[] = {
	    "[::1]x",   "localhost:80x", "a b",  "a/b", "a@b",
	    "a?b",      "a#b",           "[::1", "[]",  "[g::]",
	    "h:8080:1", "\x7f",          "a\tb"};

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		cr_expect(framing_host_valid(good[i], strlen(good[i])), "%s",
			  good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect(!framing_host_valid(bad[i], strlen(bad[i])), "%s",
			  bad[i]);
	/* only n bytes are read */
	cr_expect(framing_host_valid("localhost/x", 9));
}

Test(framing, stray_bytes)
{
	/* "A: v\r\nB: w\r\n\r\n" as libmicrohttpd leaves it, and variants */
	static const char clean[] = "A\0 v\0\0B\0 w\0\0\0\0";
	static const char cut[] = "A\0 v\0x\0\0B\0 w\0\0\0\0";
	static const char extra[] = "A\0 v\0\0\0B\0 w\0\0\0\0";

	cr_expect(!framing_stray_bytes(clean + 4, clean + 6, 2));
	cr_expect(!framing_stray_bytes(clean + 10, clean + 14, 4));
	cr_expect(framing_stray_bytes(cut + 4, cut + 8, 2));
	cr_expect(framing_stray_bytes(extra + 4, extra + 7, 2));
	cr_expect(!framing_stray_bytes(NULL, clean, 2));
	cr_expect(!framing_stray_bytes(clean + 4, NULL, 2));
	cr_expect(!framing_stray_bytes(clean + 6, clean + 4, 2));
}
