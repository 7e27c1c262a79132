/* json_arena.c - request bodies read into a per-thread arena.
 *
 * jansson allocates every value, every string twice and every object's
 * hash table separately: a 300-byte evaluate body cost ~30 malloc/free
 * pairs.  While api_json_loadb runs (api/json_read.c building jansson
 * values), jansson's allocations
 * come from a bump arena owned by the calling thread; freeing one is a
 * no-op that only counts it.  The arena is rewound when the next parse on
 * the thread starts and nothing allocated by the previous one is alive.
 *
 * Everything else jansson allocates (outside api_json_loadb, or once the
 * arena is full, or while an earlier document of the thread is still
 * alive) comes from malloc and goes back to free, so json_dumps' strings,
 * which callers release with free(), are never arena memory.
 *
 * A document parsed here must be released on the thread that parsed it:
 * request handlers parse and release on the thread libmicrohttpd calls
 * them on, and the import reads line after line on one thread. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "api/internal.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* An evaluate body takes ~4 KiB of jansson values; a 1000-item batch
 * overflows into malloc, which is only slower. */
#define ARENA_SIZE  ((size_t)64 << 10)
#define ARENA_ALIGN 16

struct arena {
	unsigned char *base; /* ARENA_SIZE bytes, or NULL */
	size_t used;
	size_t live; /* arena blocks not yet freed */
	bool active; /* inside api_json_loadb */
};

static _Thread_local struct arena arena;

/* The thread's arena memory lives as long as the thread: a key's
 * destructor frees it when the thread ends (libmicrohttpd's workers end
 * at shutdown). */
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t key;
static bool key_ok;

static void arena_release(void *base)
{
	UNPOISON(base, ARENA_SIZE);
	free(base);
}

static void key_make(void)
{
	key_ok = pthread_key_create(&key, arena_release) == 0;
}

static bool arena_ready(void)
{
	if (!arena.base) {
		pthread_once(&key_once, key_make);
		if (!key_ok)
			return false;
		arena.base = malloc(ARENA_SIZE);
		if (!arena.base)
			return false;
		if (pthread_setspecific(key, arena.base) != 0) {
			free(arena.base);
			arena.base = NULL;
			return false;
		}
		POISON(arena.base, ARENA_SIZE);
	}
	return true;
}

static bool in_arena(const void *p)
{
	const unsigned char *c = p;

	return arena.base && c >= arena.base && c < arena.base + ARENA_SIZE;
}

static void *arena_malloc(size_t size)
{
	size_t need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	void *p;

	if (!arena.active || need < size || need > ARENA_SIZE - arena.used)
		return malloc(size);
	p = arena.base + arena.used;
	arena.used += need;
	arena.live++;
	UNPOISON(p, size);
	return p;
}

static void arena_free(void *p)
{
	if (!in_arena(p)) {
		free(p);
		return;
	}
	/* A block freed twice would make live wrap and keep the arena from
	 * ever being rewound: slower, never wrong. */
	if (arena.live > 0)
		arena.live--;
}

void api_json_arena_install(void)
{
	json_set_alloc_funcs(arena_malloc, arena_free);
}

json_t *api_json_loadb(const char *buf, size_t len, json_error_t *err)
{
	json_t *doc;

	if (arena.live == 0 && arena_ready()) {
		POISON(arena.base, arena.used);
		arena.used = 0;
		arena.active = true;
	}
	doc = api_json_read(buf, len, err);
	arena.active = false;
	return doc;
}
