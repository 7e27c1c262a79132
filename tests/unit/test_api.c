/* Unit tests of api/: requests through api_handle, no HTTP. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/internal.h"

static struct api_ruleset ruleset;
static struct api_app app;

static void setup(void)
{
	char err[200];

	cr_assert_eq(api_ruleset_load(NULL, &ruleset, err, sizeof err), 0);
	app.ruleset = &ruleset;
	app.openapi_yaml = "openapi: 3.1.0\n";
	app.openapi_len = strlen(app.openapi_yaml);
	app.version = "test";
	app.no_auth = true;
}

/* The answer of a test's last called() or evaluated(). */
static struct api_response answer;
static json_t *answer_doc;

static void teardown(void)
{
	json_decref(answer_doc);
	answer_doc = NULL;
	api_response_fini(&answer);
}

TestSuite(api, .init = setup, .fini = teardown);

/* 2025-06-01T00:00:00Z: 09:00 in Tokyo. */
#define NOW 1748736000.0

struct call {
	const char *method, *path, *body, *ct, *accept, *accept_language;
	struct api_kv query[4];
	size_t n_query;
};

static json_t *call(const struct call *c, struct api_response *resp)
{
	struct api_request req = {0};
	json_error_t jerr;
	json_t *doc;

	req.method = c->method;
	req.path = c->path;
	req.body = c->body;
	req.body_len = c->body ? strlen(c->body) : 0;
	req.content_type = c->ct;
	req.accept = c->accept;
	req.accept_language = c->accept_language;
	req.query = c->query;
	req.n_query = c->n_query;
	req.request_id = "test";
	req.now = NOW;
	api_handle(&app, &req, resp);
	cr_assert_not_null(resp->body);
	doc = json_loadb(resp->body, resp->body_len, 0, &jerr);
	return doc;
}

static json_t *evaluate(const char *body, struct api_response *resp)
{
	struct call c = {.method = "POST",
			 .path = "/v1/eligibility:evaluate",
			 .body = body,
			 .ct = "application/json"};

	return call(&c, resp);
}

/* call() of C: its JSON (the rest in answer), freed by the next called()
 * or the teardown, as is the answer before it. */
static json_t *called(const struct call *c)
{
	teardown();
	answer_doc = call(c, &answer);
	return answer_doc;
}

/* evaluate() of BODY, kept as called() keeps its call; it must answer
 * STATUS. */
static json_t *evaluated(const char *body, int status)
{
	teardown();
	answer_doc = evaluate(body, &answer);
	cr_assert_eq(answer.status, status);
	return answer_doc;
}

/* The errors[].code of a problem, joined by spaces. */
static void error_codes(json_t *doc, char *out, size_t outlen)
{
	json_t *e;
	size_t i, n = 0;

	out[0] = '\0';
	json_array_foreach(json_object_get(doc, "errors"), i, e)
		n += (size_t)snprintf(
		    out + n, outlen - n, "%s%s=%s", i ? " " : "",
		    json_string_value(json_object_get(e, "field")),
		    json_string_value(json_object_get(e, "code")));
}

struct invalid_case {
	const char *body;
	int status;
	const char *codes; /* "field=code ..." exactly */
};

static const struct invalid_case invalid_cases[] = {
    {"", 400, "=invalid_json"},
    {"{\"person\": {", 400, "=invalid_json"},
    {"[1]", 400, "=invalid_json"},
    {"{\"person\": {}, \"person\": {}}", 400, "=invalid_json"},
    {"{\"person\": {\"birth_date\": \"\xff\"}}", 400, "=invalid_json"},
    {"{}", 422, "/person=missing_field"},
    {"{\"person\": {\"birth_date\": null}}", 422,
     "/person/birth_date=invalid_type"},
    {"{\"person\": {\"birth_date\": \"2025-02-29\", \"scheme\": \"x\", "
     "\"care_needs\": [\"dementia\", 3]}}",
     422,
     "/person/birth_date=invalid_date /person/scheme=invalid_enum "
     "/person/care_needs/1=invalid_type"},
    {"{\"as_of\": \"2025-06-01\", \"person\": {\"birth_date\": "
     "\"2025-06-02\"}}",
     422, "/person/birth_date=invalid_date"},
    {"{\"person\": {\"insurer_number\": \"138058\"}}", 422,
     "/person/insurer_number=invalid_insurer_number"},
    {"{\"person\": {\"insurer_number\": \"4800001\"}}", 422,
     "/person/insurer_number=invalid_insurer_number"},
    {"{\"person\": {\"insurer_number\": \"138057\", \"scheme\": "
     "\"kyokai\"}}",
     422, "/person/scheme=conflicting_fields"},
    {"{\"person\": {\"certificate\": {\"basis\": \"application\"}}}", 422,
     "/person/certificate/status=missing_field"},
    {"{\"person\": {\"certificate\": {\"status\": \"none\", \"valid_until\": "
     "\"2026-01-01\"}}}",
     422, "/person/certificate=conflicting_fields"},
    {"{\"person\": {\"a/b~c\": 1}}", 422, "/person/a~1b~0c=unknown_field"},
    {"{\"as_of\": 20250601, \"person\": {}, \"extra\": true}", 422,
     "/extra=unknown_field /as_of=invalid_type"},
    {"{\"person\": {\"insurer_number\": \"1234 5678 9018\"}}", 422,
     "/person/insurer_number=individual_number_not_accepted"},
    {"{\"person\": {\"x\": 123456789018}}", 422,
     "/person/x=individual_number_not_accepted"},
    {"{\"person\": {\"123456789018\": \"held\"}}", 422,
     "/person=individual_number_not_accepted"},
};

Test(api, invalid_bodies_give_every_error)
{
	char codes[1024];
	size_t i;

	for (i = 0; i < sizeof invalid_cases / sizeof invalid_cases[0]; i++) {
		const struct invalid_case *c = &invalid_cases[i];
		struct api_response resp;
		json_t *doc = evaluate(c->body, &resp);

		cr_assert_not_null(doc, "case %zu: answer is JSON", i);
		cr_expect_eq(resp.status, c->status, "case %zu: status %d", i,
			     resp.status);
		cr_expect_str_eq(resp.content_type, "application/problem+json");
		error_codes(doc, codes, sizeof codes);
		cr_expect_str_eq(codes, c->codes, "case %zu", i);
		json_decref(doc);
		api_response_fini(&resp);
	}
}

Test(api, problem_never_echoes_the_input)
{
	evaluated("123456789018", 400);
	cr_expect_null(strstr(answer.body, "123456789018"));
}

Test(api, decision_has_every_key)
{
	static const char *const keys[] = {
	    "decision_id",  "evaluated_at", "as_of",   "ruleset",
	    "registration", "certificate",  "insurer", "missing_facts",
	    "reasons",      "advice"};
	json_t *doc, *ins;
	size_t i;

	doc = evaluated("{\"as_of\": \"2025-06-01\", \"person\": "
			"{\"insurer_number\": \"138057\", \"mynumber_card\": "
			"\"none\"}}",
			200);
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		cr_expect_not_null(json_object_get(doc, keys[i]), "%s",
				   keys[i]);
	cr_expect_str_eq(
	    json_string_value(json_object_get(doc, "evaluated_at")),
	    "2025-06-01T09:00:00+09:00");
	cr_expect_eq(
	    strlen(json_string_value(json_object_get(doc, "decision_id"))), 26);
	ins = json_object_get(doc, "insurer");
	cr_expect_str_eq(json_string_value(json_object_get(ins, "prefecture")),
			 "東京都");
	cr_expect_str_eq(
	    json_string_value(json_object_get(ins, "prefecture_code")), "13");
	cr_expect(json_is_null(json_object_get(ins, "name")));
}

Test(api, as_of_defaults_to_today_in_tokyo)
{
	json_t *doc = evaluated("{\"person\": {}}", 200);

	cr_expect_str_eq(json_string_value(json_object_get(doc, "as_of")),
			 "2025-06-01");
}

static const char *first_reason_text(const struct call *c)
{
	static char text[512];
	json_t *doc = called(c);

	cr_assert_eq(answer.status, 200, "%s", answer.body);
	snprintf(
	    text, sizeof text, "%s",
	    json_string_value(json_object_get(
		json_array_get(json_object_get(doc, "reasons"), 0), "text")));
	return text;
}

Test(api, language_negotiation)
{
	struct call c = {.method = "POST",
			 .path = "/v1/eligibility:evaluate",
			 .body = "{\"person\": {\"mynumber_card\": \"none\"}}",
			 .ct = "application/json; charset=UTF-8"};
	char ja[512], en[512];

	snprintf(ja, sizeof ja, "%s", first_reason_text(&c));
	c.accept_language = "fr, en;q=0.8, ja;q=0.5";
	snprintf(en, sizeof en, "%s", first_reason_text(&c));
	cr_expect_str_neq(ja, en);
	c.accept_language = "ja, en;q=0.9";
	cr_expect_str_eq(first_reason_text(&c), ja);
	c.accept_language = "en";
	c.query[0] = (struct api_kv){"lang", "ja"};
	c.n_query = 1;
	cr_expect_str_eq(first_reason_text(&c), ja, "?lang wins");
	c.accept_language = NULL;
	c.query[0] = (struct api_kv){"lang", "EN"};
	cr_expect_str_eq(first_reason_text(&c), en);
}

Test(api, text_summary_on_accept_and_format)
{
	struct call c = {.method = "POST",
			 .path = "/v1/eligibility:evaluate",
			 .body = "{\"person\": {\"mynumber_card\": \"none\"}}",
			 .ct = "application/json",
			 .accept = "text/plain"};
	json_t *doc = called(&c);

	cr_expect_null(doc);
	cr_expect_eq(answer.status, 200);
	cr_expect_str_eq(answer.content_type, "text/plain; charset=utf-8");
	cr_expect_not_null(strstr(answer.body, "資格確認書"));

	c.accept = "application/json, text/plain;q=0.5";
	doc = called(&c);
	cr_expect_not_null(doc, "JSON ranks first");

	c.accept = NULL;
	c.query[0] = (struct api_kv){"format", "text"};
	c.n_query = 1;
	doc = called(&c);
	cr_expect_null(doc);
	cr_expect_str_eq(answer.content_type, "text/plain; charset=utf-8");
}

Test(api, routes_methods_and_media_types)
{
	struct call c = {.method = "GET", .path = "/v1/eligibility:evaluate"};

	called(&c);
	cr_expect_eq(answer.status, 405);
	cr_expect_str_eq(answer.headers[0].name, "Allow");
	cr_expect_str_eq(answer.headers[0].value, "POST");

	c.path = "/v1/nothing";
	called(&c);
	cr_expect_eq(answer.status, 404);

	c = (struct call){.method = "POST",
			  .path = "/v1/eligibility:evaluate",
			  .body = "{}",
			  .ct = "text/plain"};
	called(&c);
	cr_expect_eq(answer.status, 415);

	c.ct = "application/json; charset=latin1";
	called(&c);
	cr_expect_eq(answer.status, 415);
}

Test(api, query_is_strict_and_scanned)
{
	struct call c = {.method = "GET",
			 .path = "/v1/rules",
			 .query = {{"lang", "123456789018"}},
			 .n_query = 1};
	char codes[256];
	json_t *doc = called(&c);

	cr_expect_eq(answer.status, 422);
	error_codes(doc, codes, sizeof codes);
	cr_expect_str_eq(codes, "?lang=individual_number_not_accepted");

	c.query[0] = (struct api_kv){"langg", "en"};
	doc = called(&c);
	error_codes(doc, codes, sizeof codes);
	cr_expect_str_eq(codes, "?langg=unknown_field");

	c.query[0] = (struct api_kv){"format", "text"};
	doc = called(&c);
	error_codes(doc, codes, sizeof codes);
	cr_expect_str_eq(codes, "?format=unknown_field", "rules has no text");
}

Test(api, batch_keeps_order_and_isolates_errors)
{
	struct call c = {.method = "POST",
			 .path = "/v1/eligibility:batch",
			 .ct = "application/json",
			 .body =
			     "{\"as_of\": \"2025-06-01\", \"items\": ["
			     "{\"person\": {\"mynumber_card\": \"none\"}},"
			     "{\"person\": {\"mynumber_card\": \"maybe\"}},"
			     "{\"person_id\": \"r-1\"},"
			     "{\"person_id\": \"r-1\", \"person\": {}},"
			     "{\"person\": {}, \"as_of\": \"2025-01-01\"}]}"};
	/* the errors of items 1 to 4 (0 is a decision) */
	static const char *const item_errors[] = {
	    NULL, "/items/1/person/mynumber_card=invalid_enum",
	    "/items/2/person_id=not_found", "/items/3=invalid_batch",
	    "/items/4/as_of=unknown_field"};
	json_t *doc = called(&c), *results;
	char codes[256];
	size_t i;

	cr_assert_eq(answer.status, 200, "%s", answer.body);
	results = json_object_get(doc, "results");
	cr_assert_eq(json_array_size(results), 5);
	cr_expect_str_eq(
	    json_string_value(json_object_get(
		json_object_get(json_array_get(results, 0), "certificate"),
		"entitlement")),
	    "ex_officio");
	for (i = 1; i < sizeof item_errors / sizeof item_errors[0]; i++) {
		error_codes(
		    json_object_get(json_array_get(results, i), "error"), codes,
		    sizeof codes);
		cr_expect_str_eq(codes, item_errors[i], "item %zu", i);
	}
}

Test(api, batch_limits)
{
	struct call c = {.method = "POST",
			 .path = "/v1/eligibility:batch",
			 .ct = "application/json",
			 .body = "{\"items\": []}"};
	char *big;
	size_t i, n;

	called(&c);
	cr_expect_eq(answer.status, 422);

	big = malloc(1001 * 16 + 32);
	n = (size_t)sprintf(big, "{\"items\": [");
	for (i = 0; i < 1001; i++)
		n += (size_t)sprintf(big + n, "%s{\"person\": {}}",
				     i ? "," : "");
	strcpy(big + n, "]}");
	c.body = big;
	called(&c);
	cr_expect_eq(answer.status, 413);
	free(big);
}

Test(api, ruleset_file_errors)
{
	static const struct {
		const char *content;
		const char *needle; /* in the message; NULL = accepted */
	} cases[] = {
	    {"{\"provisional_end\": \"2027-07-31\", "
	     "\"late_elderly_auto_age\": null}",
	     NULL},
	    {"{\"provisional_end\": \"2027-02-30\"}", "provisional_end"},
	    {"{\"nope\": 1}", "unknown parameter"},
	    {"{\"apply_margin_days\": -1}", "apply_margin_days"},
	    {"{\"apply_margin_days\": 1, \"apply_margin_days\": 2}",
	     "not a readable"},
	    {"[]", "expected a JSON object"},
	    {"", "not a readable"},
	};
	char path[] = "/tmp/shikaku-rules-XXXXXX", err[300];
	struct api_ruleset rs;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int fd = mkstemp(path);
		FILE *f;

		cr_assert_geq(fd, 0);
		f = fdopen(fd, "w");
		fputs(cases[i].content, f);
		fclose(f);
		err[0] = '\0';
		if (!cases[i].needle) {
			cr_expect_eq(
			    api_ruleset_load(path, &rs, err, sizeof err), 0,
			    "%s", err);
			cr_expect_eq(rs.params.late_elderly_auto_age, -1);
			cr_expect_str_eq(rs.source[0], path);
			cr_expect_str_eq(rs.source[2], "default");
		} else {
			cr_expect_eq(
			    api_ruleset_load(path, &rs, err, sizeof err), -1,
			    "case %zu", i);
			cr_expect_not_null(strstr(err, cases[i].needle),
					   "case %zu: %s", i, err);
		}
		unlink(path);
		strcpy(path, "/tmp/shikaku-rules-XXXXXX");
	}
}

Test(api, buffer_refuses_to_grow_past_max)
{
	struct api_buf b;
	size_t len;

	api_buf_init(&b, 16);
	api_buf_adds(&b, "0123456789");
	cr_expect_not(b.failed);
	api_buf_adds(&b, "0123456789");
	cr_expect(b.failed);
	cr_expect_null(api_buf_take(&b, &len));

	api_buf_init(&b, 64);
	api_buf_json_strn(&b, "a\"b\\\n\x01", 6);
	cr_assert_not_null(b.data);
	cr_expect_str_eq(b.data, "\"a\\\"b\\\\\\n\\u0001\"");
	api_buf_fini(&b);
}

Test(api, texts_carry_the_dates_not_field_names)
{
	json_t *doc = evaluated(
	    "{\"as_of\": \"2025-06-01\", \"person\": {\"mynumber_card\": "
	    "\"held\", \"insurance_registration\": \"registered\", "
	    "\"care_needs\": [\"elderly\"], \"legacy_card_expiry\": "
	    "\"2025-07-31\"}}",
	    200);
	json_t *a;
	size_t i;
	bool seen = false;

	json_array_foreach(json_object_get(doc, "advice"), i, a) {
		const char *t = json_string_value(json_object_get(a, "text"));

		cr_expect_null(strchr(t, '{'), "placeholder left in %s", t);
		if (strstr(t, "2025-07-31") && strstr(t, "2025-07-01"))
			seen = true;
	}
	cr_expect(seen, "apply_before_deadline names both dates");
}

Test(api, text_render_outside_a_decision)
{
	char out[128];

	api_text_render(out, sizeof out,
			"by {apply_by}, until {provisional_end}, {auto_age}+",
			NULL, &ruleset.params);
	cr_expect_str_eq(out, "by apply_by, until 2026-07-31, 85+");
}

Test(api, json_pointers_are_built_and_bounded)
{
	char p[32];
	json_t *doc;

	api_pointer_index(p, sizeof p, "/person/care_needs", 0);
	cr_expect_str_eq(p, "/person/care_needs/0");
	api_pointer_index(p, sizeof p, "/items", 1234567);
	cr_expect_str_eq(p, "/items/1234567");
	api_pointer_index(p, sizeof p, "", (size_t)-1);
	cr_expect_str_eq(p, sizeof(size_t) == 8 ? "/18446744073709551615"
						: "/4294967295");
	api_pointer_join(p, sizeof p, "/person", "a/b~c");
	cr_expect_str_eq(p, "/person/a~1b~0c");
	/* Truncated, never overrun, always terminated. */
	api_pointer_index(p, 8, "/person/care_needs", 12);
	cr_expect_str_eq(p, "/person");
	api_pointer_index(p, 12, "/items", 123456789);
	cr_expect_lt(strlen(p), 12);
	cr_expect_eq(strncmp(p, "/items/12", 9), 0);

	doc = json_loads("{\"a\": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, "
			 "\"1234 5678 9018\"]}",
			 0, NULL);
	cr_assert_not_null(doc);
	cr_expect(api_scan_individual_number(doc, p, sizeof p));
	cr_expect_str_eq(p, "/a/11");
	cr_expect(api_scan_individual_number(doc, p, 4));
	cr_expect_str_eq(p, "/a/");
	json_array_remove(json_object_get(doc, "a"), 11);
	cr_expect_not(api_scan_individual_number(doc, p, sizeof p));
	cr_expect_str_eq(p, "");
	json_decref(doc);
}
