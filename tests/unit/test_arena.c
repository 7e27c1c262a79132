/* Unit tests of a request's arena (api/context.c: api_alloc). */
#include <criterion/criterion.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "api/api.h"
#include "api/internal.h"

static const struct api_app app;
static const struct api_request req = {.method = "GET", .path = "/healthz"};

static struct api_ctx *ctx_new(void)
{
	struct api_ctx *ctx = api_ctx_new();

	cr_assert_not_null(ctx);
	api_ctx_reset(ctx, &app, &req);
	return ctx;
}

static bool aligned(const void *p)
{
	return (uintptr_t)p % _Alignof(max_align_t) == 0;
}

/* Is p inside the arena's first block? */
static bool in_first(const struct api_ctx *ctx, const void *p)
{
	const char *c = p;

	return c >= ctx->arena->base && c < ctx->arena->base + ctx->arena->cap;
}

Test(arena, every_piece_is_aligned_for_any_type)
{
	struct api_ctx *ctx = ctx_new();
	size_t sizes[] = {1, 3, 7, 16, 17, 33, 100, 1};
	char *prev = NULL;
	size_t i;

	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char *p = api_alloc(ctx, sizes[i]);

		cr_assert_not_null(p);
		cr_assert(aligned(p), "piece %zu (%zu bytes) at %p", i,
			  sizes[i], (void *)p);
		cr_assert(in_first(ctx, p));
		/* pieces do not overlap: each starts past the one before */
		if (prev)
			cr_assert_geq(p - prev, (ptrdiff_t)sizes[i - 1]);
		memset(p, 0xA5, sizes[i]);
		prev = p;
	}
	api_ctx_free(ctx);
}

Test(arena, past_the_first_block_a_block_of_its_own)
{
	struct api_ctx *ctx = ctx_new();
	size_t cap = ctx->arena->cap;
	char *a, *b, *c;

	/* fills the first block but for a few bytes */
	a = api_alloc(ctx, cap - 8);
	cr_assert_not_null(a);
	cr_assert(in_first(ctx, a));
	/* does not fit: a block of its own, aligned, whole and writable */
	b = api_alloc(ctx, 64);
	cr_assert_not_null(b);
	cr_assert(!in_first(ctx, b));
	cr_assert(aligned(b));
	memset(b, 1, 64);
	/* larger than the first block can ever hold: the same */
	c = api_alloc(ctx, cap * 2);
	cr_assert_not_null(c);
	cr_assert(aligned(c));
	memset(c, 2, cap * 2);
	cr_assert_eq(b[63], 1);
	/* a size no block can have: NULL, and the arena still serves */
	cr_assert_null(api_alloc(ctx, SIZE_MAX));
	cr_assert_null(api_alloc(ctx, SIZE_MAX - 8));
	cr_assert_not_null(api_alloc(ctx, 8));
	api_ctx_free(ctx); /* the extra blocks go too (ASan, valgrind) */
}

Test(arena, reset_gives_the_first_block_back)
{
	struct api_ctx *ctx = ctx_new();
	size_t cap = ctx->arena->cap;
	char *first, *again;

	first = api_alloc(ctx, 100);
	cr_assert_not_null(api_alloc(ctx, cap)); /* an extra block */
	cr_assert_neq(ctx->arena->used, 0);
	/* the next request on the connection */
	api_ctx_reset(ctx, &app, &req);
	cr_assert_eq(ctx->arena->used, 0);
	cr_assert_null(ctx->arena->extra);
	again = api_alloc(ctx, 100);
	cr_assert_eq(again, first, "the first block is reused");
	/* and the whole of it is there again */
	api_ctx_reset(ctx, &app, &req);
	cr_assert_eq(api_alloc(ctx, cap), first);
	api_ctx_free(ctx);
}

Test(arena, error_lists_come_from_it)
{
	struct api_ctx *ctx = ctx_new();
	struct api_errors *a = api_errors_new(ctx), *b = api_errors_new(ctx);

	/* two lists fit the first block: a request that finds errors twice
	 * allocates nothing */
	cr_assert_not_null(a);
	cr_assert_not_null(b);
	cr_assert(in_first(ctx, a) && in_first(ctx, b));
	cr_assert_eq(a->n, 0);
	api_errors_add(a, "/x", "invalid_type", "expected %s", "a string");
	cr_assert_eq(a->n, 1);
	cr_assert_eq(b->n, 0);
	api_ctx_free(ctx);
}
