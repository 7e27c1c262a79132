/* person_warm.c - the thread that warms the person cache at start.
 *
 * A lookup that misses the cache pays a store read (and on SQLite its
 * read transaction); a service just started would pay it for every
 * person once, for as long as it takes random lookups to touch them all.
 * This thread reads the stored persons once instead, WARM_CHUNK at a time
 * in id order, each chunk its own short read (so it holds no snapshot
 * that would keep a WAL from being checkpointed), at nice 10 so that
 * requests come first, and stops at the end, when the cache is 15/16
 * full or at its first eviction (the shards fill unevenly): warming must
 * not evict what lookups made hot.  Its puts follow a
 * miss's rules (db_person_cache_fill), so it never makes a record stale.
 * Owned by struct db: started by db_person_cache_warm, stopped by
 * db_close. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "db/internal.h"
#include "db/person_cache.h"

#define WARM_CHUNK 256
/* Tries in a row that may find the cache busy (a write in flight) or the
 * store locked, 10 ms apart, before it gives up: 10 s. */
#define WARM_BUSY_TRIES 1000

struct db_warm {
	struct db *db;
	pthread_t thread;
	atomic_bool stop, running;
	atomic_uint_fast64_t persons;
};

/* The cache has room left for warming: under 15/16 of its budget, and
 * no shard has had to evict since the warming began (evicted: the count
 * then). */
static bool has_room(struct person_cache *pc, uint64_t evicted)
{
	struct person_cache_stats st;

	person_cache_stats(pc, &st);
	return st.bytes < st.budget - st.budget / 16 && st.evictions == evicted;
}

static void nap_10ms(void)
{
	struct timespec ts = {0, 10 * 1000 * 1000};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void *warm_main(void *arg)
{
	struct db_warm *w = arg;
	struct db_conn *c = db_conn_get(w->db);
	char after[DB_ID_MAX + 1] = "";
	struct person_cache_stats st;
	unsigned busy = 0, n;
	enum db_result r;

	/* Best effort: on Linux it lowers this thread only. */
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), 10);
	if (c)
		person_cache_stats(db_person_cache(c), &st);
	while (c && !atomic_load(&w->stop) &&
	       has_room(db_person_cache(c), st.evictions)) {
		r = db_person_cache_fill(c, after, WARM_CHUNK, &n);
		if (r == DB_OK) {
			atomic_fetch_add(&w->persons, n);
			if (!after[0])
				break;
			busy = 0;
		} else if ((r == DB_BUSY || r == DB_UNAVAILABLE) &&
			   ++busy < WARM_BUSY_TRIES) {
			nap_10ms();
		} else {
			break;
		}
	}
	atomic_store(&w->running, false);
	return NULL;
}

int db_person_cache_warm(struct db *db)
{
	struct db_warm *w;

	if (!atomic_load(&db->pcache) || db->warm)
		return 0;
	w = calloc(1, sizeof *w);
	if (!w)
		return -1;
	w->db = db;
	atomic_init(&w->stop, false);
	atomic_init(&w->running, true);
	atomic_init(&w->persons, 0);
	if (pthread_create(&w->thread, NULL, warm_main, w) != 0) {
		free(w);
		return -1;
	}
	pthread_setname_np(w->thread, "cache-warm");
	db->warm = w;
	return 0;
}

bool db_person_cache_warming(struct db *db, uint64_t *persons)
{
	struct db_warm *w = db->warm;

	*persons = w ? atomic_load(&w->persons) : 0;
	return w && atomic_load(&w->running);
}

void db_warm_stop(struct db_warm *w)
{
	if (!w)
		return;
	atomic_store(&w->stop, true);
	pthread_join(w->thread, NULL);
	free(w);
}
