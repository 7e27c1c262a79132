/* registry.c - the insurer registry as the decisions see it (a service of
 * api/): a per-thread cache of registry rows, overlaid on a decision (the
 * insurer's name, the nhi_association mark). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "api/person.h"
#include "base/fnv.h"
#include "db/insurer_db.h"

/* Overlays what the registry says on a decision: the name in the
 * request's language (name_en for lang=en when there is one, else
 * name_ja; borrowed by d) and, for an NHI number the registry marks as a
 * 国保組合's, scheme nhi_association with its channel (SPEC §5). */
static void decision_registry(const struct api_ctx *ctx,
			      struct rules_decision *d, const char *name_ja,
			      const char *name_en, enum rules_scheme scheme)
{
	if (!d->has_number)
		return;
	if (ctx->lang == RULES_LANG_EN && name_en && name_en[0])
		d->insurer_name = name_en;
	else if (name_ja && name_ja[0])
		d->insurer_name = name_ja;
	else if (name_en && name_en[0])
		d->insurer_name = name_en;
	if (scheme == RULES_SCHEME_NHI_ASSOCIATION &&
	    d->insurer_scheme == RULES_SCHEME_NHI) {
		d->insurer_scheme = RULES_SCHEME_NHI_ASSOCIATION;
		d->channel = rules_scheme_channel(d->insurer_scheme);
	}
}

/* Registry rows, cached per thread: the evaluate route would otherwise
 * open a read transaction (two fcntl locks and a B-tree search) on every
 * request for a table that changes a few times a year.  An entry is good
 * while the process has not written the registry since (generation) and
 * for REGISTRY_TTL_S at most, for writers in other processes (the import
 * command). */
#define REGISTRY_SLOTS 256
#define REGISTRY_TTL_S 30

struct registry_entry {
	char number[9];
	bool found;
	enum rules_scheme scheme;
	unsigned long generation;
	double fetched;
	char name_ja[160];
	char name_en[160];
};

static _Thread_local struct registry_entry registry_cache[REGISTRY_SLOTS];

static unsigned registry_slot(const char *number)
{
	return base_fnv1a32(BASE_FNV32_INIT, number, strlen(number)) %
	       REGISTRY_SLOTS;
}

void api_decision_lookup_insurer(const struct api_ctx *ctx,
				 struct rules_decision *d,
				 char name[API_INSURER_NAME_MAX])
{
	struct registry_entry *e;
	struct db_insurer *row = NULL;
	unsigned long gen;
	struct db_conn *c;
	enum db_result r;

	name[0] = '\0';
	if (!d->has_number || !ctx->app->db)
		return;
	gen = db_registry_generation(ctx->app->db);
	e = &registry_cache[registry_slot(d->insurer.number)];
	if (strcmp(e->number, d->insurer.number) != 0 || e->generation != gen ||
	    ctx->req->now - e->fetched > REGISTRY_TTL_S ||
	    ctx->req->now < e->fetched) {
		/* a miss: the row in the request's arena (rare: the cache
		 * holds it for the next requests) */
		c = db_conn_get(ctx->app->db);
		row = c ? api_alloc(ctx, sizeof *row) : NULL;
		if (!row)
			return;
		r = db_insurer_get(c, d->insurer.number, row);
		if (r != DB_OK && r != DB_NOT_FOUND)
			return; /* not cached: try again next time */
		memcpy(e->number, d->insurer.number, sizeof e->number);
		e->found = r == DB_OK;
		e->scheme = e->found ? row->scheme : RULES_SCHEME_UNKNOWN;
		e->generation = gen;
		e->fetched = ctx->req->now;
		api_copy_truncated(e->name_ja, sizeof e->name_ja,
				   e->found ? row->name_ja : "");
		api_copy_truncated(e->name_en, sizeof e->name_en,
				   e->found ? row->name_en : "");
	}
	if (!e->found)
		return;
	/* One of the two names goes in: copy the one wanted. */
	decision_registry(ctx, d, e->name_ja, e->name_en, e->scheme);
	if (d->insurer_name) {
		api_copy_truncated(name, API_INSURER_NAME_MAX, d->insurer_name);
		d->insurer_name = name;
	}
}
