/* context.c - a request's context (struct api_ctx): made once per
 * connection, reset for each request on it, with the request's scratch
 * memory (an arena: error lists, tag lists, the person record) and the
 * person ids it named for the audit log.  HTTP-free core of api/: calls
 * nothing else of api/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "db/key_db.h"

/* The first block: two error lists (2 x 18,416 bytes), a person record
 * and tag lists fit, so that most requests allocate nothing. */
#define ARENA_FIRST ((size_t)48 << 10)
/* An audit id list larger than this is not kept for the next request. */
#define AUDIT_KEEP ((size_t)64 << 10)

struct arena_block {
	struct arena_block *next;
	max_align_t data[]; /* aligned for any type */
};

struct api_ctx *api_ctx_new(void)
{
	struct api_ctx *ctx = calloc(1, sizeof *ctx);

	if (!ctx)
		return NULL;
	ctx->arena_own.base = malloc(ARENA_FIRST);
	if (!ctx->arena_own.base) {
		free(ctx);
		return NULL;
	}
	ctx->arena_own.cap = ARENA_FIRST;
	return ctx;
}

static void arena_reset(struct api_arena *a)
{
	struct arena_block *b = a->extra, *next;

	for (; b; b = next) {
		next = b->next;
		free(b);
	}
	a->extra = NULL;
	a->used = 0;
}

void api_ctx_free(struct api_ctx *ctx)
{
	if (!ctx)
		return;
	arena_reset(&ctx->arena_own);
	free(ctx->arena_own.base);
	free(ctx->audit_own.ids);
	free(ctx);
}

void api_ctx_reset(struct api_ctx *ctx, const struct api_app *app,
		   const struct api_request *req)
{
	struct api_arena arena = ctx->arena_own;
	struct api_audit_ids audit = ctx->audit_own;

	arena_reset(&arena);
	if (audit.cap > AUDIT_KEEP) {
		free(audit.ids);
		audit.ids = NULL;
		audit.cap = 0;
	}
	audit.len = audit.n = audit.n_absent = 0;
	/* the fixed part only: the key, ids and buffers start empty */
	memset(ctx, 0, offsetof(struct api_ctx, audit_own));
	ctx->audit_own = audit;
	ctx->arena_own = arena;
	ctx->audit = &ctx->audit_own;
	ctx->arena = &ctx->arena_own;
	ctx->resp = NULL;
	ctx->store_conn_own = NULL;
	ctx->store_conn = &ctx->store_conn_own;
	ctx->import = NULL;
	ctx->import_out = NULL;
	ctx->app = app;
	ctx->req = req;
	ctx->label = "unmatched";
	ctx->today = rules_date_tokyo((int64_t)req->now);
	/* Without keys (--no-auth, loopback only) the caller may do all. */
	ctx->role = DB_KEY_ROLE_ADMIN;
}

void *api_alloc(const struct api_ctx *ctx, size_t n)
{
	struct api_arena *a = ctx->arena;
	size_t align = sizeof(max_align_t), at;
	struct arena_block *b;

	at = (a->used + align - 1) & ~(align - 1);
	if (n <= a->cap && at <= a->cap - n) {
		a->used = at + n;
		return a->base + at;
	}
	/* past the first block: a block of its own, freed on reset */
	if (n > SIZE_MAX - sizeof *b)
		return NULL;
	b = malloc(sizeof *b + n);
	if (!b)
		return NULL;
	b->next = a->extra;
	a->extra = b;
	return b->data;
}

void api_ctx_set_key(struct api_ctx *ctx, const char *key_id, int role,
		     const char *facility)
{
	snprintf(ctx->key_id, sizeof ctx->key_id, "%s", key_id);
	ctx->role = role;
	if (facility[0]) {
		snprintf(ctx->facility_buf, sizeof ctx->facility_buf, "%s",
			 facility);
		ctx->facility = ctx->facility_buf;
	}
}

const char *api_ctx_route(const struct api_ctx *ctx)
{
	return ctx->label;
}

const char *api_ctx_key_id(const struct api_ctx *ctx)
{
	return ctx->key_id;
}
