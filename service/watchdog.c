/* watchdog.c - deadlines for slow clients; see watchdog.h.
 *
 * One slot per connection.  fd and the free list are under the lock; the
 * phase and its times are atomics that the request path writes without
 * it: since_ms is stored before the phase changes, so whoever reads the
 * new phase reads its time too, and the watchdog moves a phase to CUT
 * only by compare-and-swap, so a head or a body that completes at that
 * moment is not cut after all. */
#include "service/watchdog.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "service/log.h"

enum phase {
	PH_FREE = 0,
	PH_WAITING, /* for a head: since accept or the previous answer */
	PH_BODY,    /* receiving a buffered body */
	PH_BUSY,    /* being answered, or a body nobody times */
	PH_CUT,     /* shut down: closing */
};

struct slot {
	int fd; /* under lock */
	atomic_int phase;
	atomic_int_least64_t since_ms; /* the phase began */
	atomic_int_least64_t last_ms;  /* PH_BODY: the last bytes came */
	atomic_size_t bytes;           /* PH_BODY: bytes so far */
	atomic_bool served;            /* has had an answer */
};

struct watchdog {
	pthread_mutex_t lock;
	pthread_cond_t wake; /* stop */
	pthread_t thread;
	bool stop; /* under lock */
	struct watchdog_limits lim;
	unsigned max;
	struct slot *slots;
	unsigned *free_ids; /* under lock: a stack of free slot numbers */
	unsigned n_free;
	atomic_uint cutting;
	atomic_ullong head_timeouts, slow_bodies, evicted;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool watchdog_body_too_slow(const struct watchdog_limits *lim, size_t bytes,
			    int64_t elapsed_ms)
{
	uint64_t due_ms;

	if (lim->body_min_rate == 0 ||
	    elapsed_ms <= (int64_t)lim->body_grace_ms)
		return false;
	due_ms = (uint64_t)(elapsed_ms - (int64_t)lim->body_grace_ms);
	if (due_ms > 1000000000u)
		due_ms = 1000000000u; /* 11 days: no overflow below */
	/* bytes / due_s < rate, without dividing */
	return (uint64_t)bytes * 1000u < (uint64_t)lim->body_min_rate * due_ms;
}

static struct slot *slot_of(struct watchdog *wd, unsigned id)
{
	if (wd == NULL || id == 0 || id > wd->max)
		return NULL;
	return &wd->slots[id - 1];
}

/* Moves s to phase p (since now), unless it is cut. */
static void enter(struct slot *s, int p, int64_t now)
{
	int cur = atomic_load(&s->phase);

	atomic_store(&s->since_ms, now);
	while (cur != PH_CUT && cur != PH_FREE &&
	       !atomic_compare_exchange_weak(&s->phase, &cur, p))
		;
}

/* Under the lock: cuts s if it is still in phase from. */
static bool cut(struct watchdog *wd, struct slot *s, int from)
{
	int expected = from;

	if (!atomic_compare_exchange_strong(&s->phase, &expected, PH_CUT))
		return false;
	atomic_fetch_add(&wd->cutting, 1);
	(void)shutdown(s->fd, SHUT_RDWR);
	return true;
}

/* One pass over every connection, under the lock. */
static void pass(struct watchdog *wd, int64_t now)
{
	for (unsigned i = 0; i < wd->max; i++) {
		struct slot *s = &wd->slots[i];
		int p = atomic_load(&s->phase);
		int64_t since = atomic_load(&s->since_ms);

		if (p == PH_WAITING && wd->lim.head_ms > 0 &&
		    now - since >= (int64_t)wd->lim.head_ms) {
			if (cut(wd, s, PH_WAITING))
				atomic_fetch_add(&wd->head_timeouts, 1);
		} else if (p == PH_BODY &&
			   now - atomic_load(&s->last_ms) >=
			       (int64_t)wd->lim.body_grace_ms &&
			   watchdog_body_too_slow(
			       &wd->lim, atomic_load(&s->bytes), now - since)) {
			if (cut(wd, s, PH_BODY))
				atomic_fetch_add(&wd->slow_bodies, 1);
		}
	}
}

/* One line a second at most, with what was cut since the last one. */
static void report(struct watchdog *wd, struct watchdog_counts *logged)
{
	struct watchdog_counts c;
	struct log_line l;

	watchdog_counts(wd, &c);
	if (c.head_timeouts == logged->head_timeouts &&
	    c.slow_bodies == logged->slow_bodies &&
	    c.evicted == logged->evicted)
		return;
	log_begin(&l, LOG_INFO, "slow_clients_cut");
	log_int(&l, "head_timeout",
		(long long)(c.head_timeouts - logged->head_timeouts));
	log_int(&l, "body_too_slow",
		(long long)(c.slow_bodies - logged->slow_bodies));
	log_int(&l, "evicted", (long long)(c.evicted - logged->evicted));
	log_end(&l);
	*logged = c;
}

static void *watchdog_main(void *arg)
{
	struct watchdog *wd = arg;
	struct watchdog_counts logged = {0, 0, 0};
	/* a tenth of the head deadline, within [20 ms, 250 ms]; bodies are
	 * timed in seconds */
	unsigned period_ms = wd->lim.head_ms > 0 ? wd->lim.head_ms / 10 : 250;
	int64_t last_report = 0;

	if (period_ms < 20)
		period_ms = 20;
	if (period_ms > 250)
		period_ms = 250;
	pthread_mutex_lock(&wd->lock);
	while (!wd->stop) {
		struct timespec until;
		int64_t now;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += (long)period_ms * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&wd->wake, &wd->lock, &until);
		if (wd->stop)
			break;
		now = now_ms();
		pass(wd, now);
		if (now - last_report >= 1000) {
			pthread_mutex_unlock(&wd->lock);
			report(wd, &logged);
			pthread_mutex_lock(&wd->lock);
			last_report = now;
		}
	}
	pthread_mutex_unlock(&wd->lock);
	report(wd, &logged);
	return NULL;
}

/* Frees wd and its arrays; its lock and condition too when inited. */
static void watchdog_release(struct watchdog *wd, bool inited)
{
	if (inited) {
		pthread_cond_destroy(&wd->wake);
		pthread_mutex_destroy(&wd->lock);
	}
	free(wd->slots);
	free(wd->free_ids);
	free(wd);
}

struct watchdog *watchdog_new(unsigned max_conns,
			      const struct watchdog_limits *lim)
{
	struct watchdog *wd = calloc(1, sizeof *wd);
	pthread_condattr_t ca;

	if (wd == NULL)
		return NULL;
	wd->lim = *lim;
	wd->max = max_conns;
	wd->slots = calloc(max_conns ? max_conns : 1, sizeof *wd->slots);
	wd->free_ids = calloc(max_conns ? max_conns : 1, sizeof *wd->free_ids);
	if (wd->slots == NULL || wd->free_ids == NULL)
		goto fail;
	for (unsigned i = 0; i < max_conns; i++) {
		wd->slots[i].fd = -1;
		/* popped from the top: slot 0 first */
		wd->free_ids[i] = max_conns - i;
	}
	wd->n_free = max_conns;
	pthread_mutex_init(&wd->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wd->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&wd->thread, NULL, watchdog_main, wd) != 0) {
		watchdog_release(wd, true);
		return NULL;
	}
	return wd;
fail:
	watchdog_release(wd, false);
	return NULL;
}

/* Tells the thread to stop, and waits for it. */
static void watchdog_stop(struct watchdog *wd)
{
	pthread_mutex_lock(&wd->lock);
	wd->stop = true;
	pthread_cond_signal(&wd->wake);
	pthread_mutex_unlock(&wd->lock);
	pthread_join(wd->thread, NULL);
}

void watchdog_free(struct watchdog *wd)
{
	if (wd == NULL)
		return;
	watchdog_stop(wd);
	watchdog_release(wd, true);
}

unsigned watchdog_add(struct watchdog *wd, int fd)
{
	unsigned id = 0;
	struct slot *s;
	int64_t now = now_ms();

	if (wd == NULL || fd < 0)
		return 0;
	pthread_mutex_lock(&wd->lock);
	if (wd->n_free > 0) {
		id = wd->free_ids[--wd->n_free];
		s = &wd->slots[id - 1];
		s->fd = fd;
		atomic_store(&s->since_ms, now);
		atomic_store(&s->last_ms, now);
		atomic_store(&s->bytes, 0);
		atomic_store(&s->served, false);
		atomic_store(&s->phase, PH_WAITING);
	}
	pthread_mutex_unlock(&wd->lock);
	return id;
}

void watchdog_remove(struct watchdog *wd, unsigned id)
{
	struct slot *s = slot_of(wd, id);

	if (s == NULL)
		return;
	pthread_mutex_lock(&wd->lock);
	if (atomic_exchange(&s->phase, PH_FREE) == PH_CUT)
		atomic_fetch_sub(&wd->cutting, 1);
	s->fd = -1;
	wd->free_ids[wd->n_free++] = id;
	pthread_mutex_unlock(&wd->lock);
}

void watchdog_head(struct watchdog *wd, unsigned id, bool body)
{
	struct slot *s = slot_of(wd, id);
	int64_t now;

	if (s == NULL)
		return;
	now = now_ms();
	if (body) {
		atomic_store(&s->bytes, 0);
		atomic_store(&s->last_ms, now);
	}
	enter(s, body ? PH_BODY : PH_BUSY, now);
}

void watchdog_body(struct watchdog *wd, unsigned id, size_t total)
{
	struct slot *s = slot_of(wd, id);

	if (s == NULL)
		return;
	atomic_store(&s->bytes, total);
	atomic_store(&s->last_ms, now_ms());
}

void watchdog_busy(struct watchdog *wd, unsigned id)
{
	struct slot *s = slot_of(wd, id);

	if (s != NULL && atomic_load(&s->phase) != PH_BUSY)
		enter(s, PH_BUSY, now_ms());
}

void watchdog_idle(struct watchdog *wd, unsigned id)
{
	struct slot *s = slot_of(wd, id);

	if (s == NULL)
		return;
	atomic_store(&s->served, true);
	enter(s, PH_WAITING, now_ms());
}

unsigned watchdog_evict(struct watchdog *wd, unsigned n, unsigned keep)
{
	unsigned done = 0;

	if (wd == NULL || n == 0)
		return 0;
	pthread_mutex_lock(&wd->lock);
	/* a few more tries than n: one may begin its request meanwhile */
	for (unsigned tries = 0; done < n && tries < n + 8; tries++) {
		struct slot *oldest = NULL;
		int64_t oldest_since = 0;
		bool oldest_served = true;

		for (unsigned i = 0; i < wd->max; i++) {
			struct slot *s = &wd->slots[i];
			int64_t since;
			bool served;

			if (i + 1 == keep ||
			    atomic_load(&s->phase) != PH_WAITING)
				continue;
			since = atomic_load(&s->since_ms);
			served = atomic_load(&s->served);
			/* one that never had an answer before one that did */
			if (oldest == NULL || (!served && oldest_served) ||
			    (served == oldest_served && since < oldest_since)) {
				oldest = s;
				oldest_since = since;
				oldest_served = served;
			}
		}
		if (oldest == NULL)
			break;
		if (cut(wd, oldest, PH_WAITING))
			done++;
	}
	pthread_mutex_unlock(&wd->lock);
	atomic_fetch_add(&wd->evicted, done);
	return done;
}

unsigned watchdog_cutting(struct watchdog *wd)
{
	return wd != NULL ? atomic_load(&wd->cutting) : 0;
}

void watchdog_counts(struct watchdog *wd, struct watchdog_counts *out)
{
	out->head_timeouts = atomic_load(&wd->head_timeouts);
	out->slow_bodies = atomic_load(&wd->slow_bodies);
	out->evicted = atomic_load(&wd->evicted);
}
