/* fuzz_facts.c - the JSON facts parser and the evaluate route on arbitrary
 * bytes: must never crash, leak or read out of bounds.
 *
 * Half of the work goes straight to api_scan_individual_number +
 * api_facts_parse (the parser without the router), the other half through
 * api_handle as POST /v1/eligibility:evaluate with no store. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct api_ruleset ruleset;
static struct api_app app;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[200];

	(void)argc;
	(void)argv;
	api_json_arena_install();
	if (api_ruleset_load(NULL, &ruleset, err, sizeof err) != 0)
		abort();
	app.ruleset = &ruleset;
	app.openapi_yaml = "openapi: 3.1.0\n";
	app.openapi_len = strlen(app.openapi_yaml);
	app.version = "fuzz";
	app.db = NULL;
	app.no_auth = true; /* the parsers, not the 401 */
	return 0;
}

static void parse_direct(const uint8_t *data, size_t size)
{
	struct api_errors *errs = calloc(1, sizeof *errs);
	char field[API_FIELD_MAX];
	struct rules_facts facts;
	json_error_t jerr;
	json_t *doc, *person;
	int32_t as_of = rules_date_from_ymd(2025, 6, 1);

	if (!errs)
		return;
	doc = json_loadb((const char *)data, size,
			 JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, &jerr);
	if (doc) {
		api_scan_individual_number(doc, field, sizeof field);
		/* The facts object alone, and inside an evaluate body. */
		if (json_is_object(doc)) {
			rules_facts_init(&facts);
			api_facts_parse(doc, "", as_of, &facts, errs);
			person = json_object_get(doc, "person");
			if (json_is_object(person)) {
				rules_facts_init(&facts);
				api_facts_parse(person, "/person",
						RULES_NO_DATE, &facts, errs);
			}
		}
		json_decref(doc);
	}
	free(errs);
}

static void through_router(const uint8_t *data, size_t size)
{
	static const char *const types[] = {"application/json",
					    "application/json; charset=utf-8",
					    "text/plain"};
	struct api_request req = {0};
	struct api_response resp;
	struct api_kv q[1] = {{"lang", "en"}};

	req.method = "POST";
	req.path = "/v1/eligibility:evaluate";
	req.content_type = types[size % 3 == 2 ? 2 : 0];
	req.accept = size % 5 == 0 ? "text/plain" : NULL;
	req.query = q;
	req.n_query = size % 2;
	req.request_id = "fuzz";
	req.body = (const char *)data;
	req.body_len = size;
	req.now = 1748736000.0;
	api_handle(&app, &req, &resp);
	api_response_fini(&resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse_direct(data, size);
	through_router(data, size);
	return 0;
}
