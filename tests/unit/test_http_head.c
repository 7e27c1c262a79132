/* test_http_head.c - the request-head checks of service/http_head.c
 * (repeated and folded fields, %00 in the target; its transfer codings
 * test is now in test_framing.c, which reads them) and
 * the serve flags of issue 12 in service/config.c (--tls-priorities,
 * --metrics-open). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "service/config.h"
#include "service/http_head.h"

struct field {
	const char *name, *value;
};

static struct http_head head_of(const struct field *f, size_t n)
{
	struct http_head h;

	memset(&h, 0, sizeof h);
	for (size_t i = 0; i < n; i++)
		http_head_field(&h, f[i].name, f[i].value);
	return h;
}

#define HEAD(...)                                                              \
	head_of((const struct field[]){__VA_ARGS__},                           \
		sizeof((const struct field[]){__VA_ARGS__}) /                  \
		    sizeof(struct field))

Test(http_head, one_request_id_without_a_number)
{
	struct http_head h = HEAD({"Host", "x"}, {"X-Request-Id", "abc-1"});

	cr_assert_eq(h.n_request_id, 1);
	cr_assert_not(h.request_id_number);
	cr_assert_not(h.request_id_folded);
}

Test(http_head, every_request_id_value_is_read)
{
	/* the number in the second field, the first one harmless */
	struct http_head h =
	    HEAD({"X-Request-Id", "abc"}, {"x-request-id", "123456789018"});

	cr_assert_eq(h.n_request_id, 2);
	cr_assert(h.request_id_number);
	h = HEAD({"X-Request-Id", "abc"}, {"X-Request-Id", "def"});
	cr_assert_eq(h.n_request_id, 2);
	cr_assert_not(h.request_id_number);
}

Test(http_head, list_elements_are_read)
{
	cr_assert(
	    HEAD({"X-Request-Id", "abc, 123456789018"}).request_id_number);
	cr_assert(HEAD({"X-Request-Id", "abc 123456789018"}).request_id_number);
	cr_assert(HEAD({"X-Request-Id", "1234 5678 9018"}).request_id_number);
	cr_assert(
	    HEAD({"X-Request-Id", "abc, 1234 5678 9018"}).request_id_number);
	cr_assert(
	    HEAD({"X-Request-Id", "abc,１２３４-5678-9018"}).request_id_number);
	/* a wrong check digit is no individual number */
	cr_assert_not(
	    HEAD({"X-Request-Id", "abc, 123456789012"}).request_id_number);
}

Test(http_head, folded_value_appended_to_the_name_is_read)
{
	/* libmicrohttpd 0.9.75 turns "X-Request-Id: 123456\r\n 789018" into
	 * the field "X-Request-Id789018" = "123456" */
	struct http_head h = HEAD({"X-Request-Id789018", "123456"});

	cr_assert(h.request_id_folded);
	cr_assert(h.request_id_number);
	cr_assert_eq(h.n_request_id, 0);
	cr_assert(HEAD({"X-Request-Id123456789018", "abc"}).request_id_number);
	cr_assert(HEAD({"X-REQUEST-ID9018", "1234 5678 "}).request_id_number);
	h = HEAD({"X-Request-Id-Orig", "abc"});
	cr_assert(h.request_id_folded);
	cr_assert_not(h.request_id_number);
}

Test(http_head, authorization_counted)
{
	cr_assert_eq(HEAD({"Authorization", "Bearer a"}).n_authorization, 1);
	cr_assert_eq(
	    HEAD({"Authorization", "Bearer a"}, {"authorization", "Bearer b"})
		.n_authorization,
	    2);
}

Test(http_head, percent_00_in_the_target)
{
	cr_assert_eq(http_head_target_nul("/v1/persons/pB"),
		     HTTP_HEAD_NUL_NONE);
	cr_assert_eq(http_head_target_nul(NULL), HTTP_HEAD_NUL_NONE);
	cr_assert_eq(http_head_target_nul("/v1/persons/pB%00123456789018"),
		     HTTP_HEAD_NUL_PATH);
	cr_assert_eq(http_head_target_nul("/v1/persons?facility_id=a%00b"),
		     HTTP_HEAD_NUL_QUERY);
	cr_assert_eq(http_head_target_nul("/a%00?x=1"), HTTP_HEAD_NUL_PATH);
	/* %2500 is the text "%00", no NUL */
	cr_assert_eq(http_head_target_nul("/v1/persons/a%2500"),
		     HTTP_HEAD_NUL_NONE);
	cr_assert_eq(http_head_target_nul("/v1/persons/a%0"),
		     HTTP_HEAD_NUL_NONE);
}

/* ---- serve flags ------------------------------------------------------ */

static enum config_result load(struct config *cfg, char *err, size_t errlen,
			       int argc, char *const argv[])
{
	unsetenv("SHIKAKU_TLS_PRIORITIES");
	unsetenv("SHIKAKU_METRICS_OPEN");
	unsetenv("SHIKAKU_METRICS_AUTH");
	return config_load(cfg, CONFIG_SERVE, argc, argv, err, errlen);
}

Test(config, tls_priorities_default_and_checked)
{
	struct config cfg;
	char err[256];
	char *const none[] = {NULL};
	char *const good[] = {"--tls-cert",
			      "c.pem",
			      "--tls-key",
			      "k.pem",
			      "--tls-priorities",
			      "NORMAL:-VERS-TLS1.0",
			      NULL};
	char *const bad[] = {"--tls-cert",
			     "c.pem",
			     "--tls-key",
			     "k.pem",
			     "--tls-priorities",
			     "NORMAL:+NO-SUCH-THING",
			     NULL};
	char *const alone[] = {"--tls-priorities", "NORMAL", NULL};

	cr_assert_eq(load(&cfg, err, sizeof err, 0, none), CONFIG_OK);
	cr_assert_null(cfg.tls_priorities);
	cr_assert_eq(load(&cfg, err, sizeof err, 6, good), CONFIG_OK, "%s",
		     err);
	cr_assert_str_eq(cfg.tls_priorities, "NORMAL:-VERS-TLS1.0");
	cr_assert_eq(load(&cfg, err, sizeof err, 6, bad), CONFIG_USAGE);
	cr_assert(strstr(err, "--tls-priorities") != NULL, "%s", err);
	cr_assert(strstr(err, "NO-SUCH-THING") != NULL, "%s", err);
	cr_assert_eq(load(&cfg, err, sizeof err, 2, alone), CONFIG_USAGE);
	cr_assert(strstr(err, "--tls-cert") != NULL, "%s", err);
}

Test(config, default_priorities_are_tls12_and_up)
{
	/* the string is GnuTLS's to judge: it must at least parse */
	struct config cfg;
	char err[256];
	char *const argv[] = {"--tls-cert",
			      "c.pem",
			      "--tls-key",
			      "k.pem",
			      "--tls-priorities",
			      CONFIG_TLS_PRIORITIES_DEFAULT,
			      NULL};

	cr_assert_eq(load(&cfg, err, sizeof err, 6, argv), CONFIG_OK, "%s",
		     err);
	cr_assert(strstr(CONFIG_TLS_PRIORITIES_DEFAULT, "-VERS-ALL") != NULL);
	cr_assert(strstr(CONFIG_TLS_PRIORITIES_DEFAULT, "+RSA") == NULL);
}

Test(config, metrics_need_a_key_unless_open)
{
	struct config cfg;
	char err[256];
	char *const none[] = {NULL};
	char *const open_[] = {"--metrics-open", NULL};
	char *const old[] = {"--metrics-auth", NULL};

	cr_assert_eq(load(&cfg, err, sizeof err, 0, none), CONFIG_OK);
	cr_assert_not(cfg.metrics_open);
	cr_assert_eq(load(&cfg, err, sizeof err, 1, open_), CONFIG_OK);
	cr_assert(cfg.metrics_open);
	cr_assert_eq(load(&cfg, err, sizeof err, 1, old), CONFIG_OK);
	cr_assert_not(cfg.metrics_open);
	setenv("SHIKAKU_METRICS_AUTH", "0", 1);
	cr_assert_eq(config_load(&cfg, CONFIG_SERVE, 0, none, err, sizeof err),
		     CONFIG_OK);
	cr_assert_not(cfg.metrics_open, "=0 of the old flag opens nothing");
	unsetenv("SHIKAKU_METRICS_AUTH");
	setenv("SHIKAKU_METRICS_OPEN", "1", 1);
	cr_assert_eq(config_load(&cfg, CONFIG_SERVE, 0, none, err, sizeof err),
		     CONFIG_OK);
	cr_assert(cfg.metrics_open);
	unsetenv("SHIKAKU_METRICS_OPEN");
}
