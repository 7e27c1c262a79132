/* linger.c - lingering close of refused connections; see linger.h.
 *
 * Only the thread removes sockets; linger_pool_add only appends, under the lock.
 * So the thread may read slots[0 .. n it polled) without the lock (no one
 * else writes them) and takes the lock only to append-check and to remove. */
#include "service/linger.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* What one socket may take of one pass, so that a fast sender does not
 * starve the others. */
#define PASS_BYTES ((size_t)1 << 20)

struct slot {
	int fd;
	int64_t start_ms; /* handed over */
	int64_t last_ms;  /* last data read */
	size_t bytes;     /* read and dropped */
};

struct linger_pool {
	pthread_mutex_t lock;
	pthread_t thread;
	int wake[2]; /* the pipe that interrupts poll: a new socket, or stop */
	bool stop;   /* under lock */
	unsigned n;  /* under lock; only the thread lowers it */
	unsigned max_fds;
	size_t max_bytes;
	unsigned time_ms, idle_ms;
	struct slot *slots;  /* max_fds */
	struct pollfd *pfds; /* max_fds + 1, the thread's */
	bool *drop;          /* max_fds, the thread's */
	char sink[64 << 10]; /* the thread's: what is read and dropped */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds until slot s must close (0: now). */
static int64_t left_ms(const struct linger_pool *lg, const struct slot *s,
		       int64_t now)
{
	int64_t end = s->start_ms + lg->time_ms;
	int64_t idle_end = s->last_ms + lg->idle_ms;

	if (idle_end < end)
		end = idle_end;
	return end > now ? end - now : 0;
}

/* Reads and drops what s's client sent; true when s is done. */
static bool drain(struct linger_pool *lg, struct slot *s, int64_t now)
{
	size_t pass = 0;

	while (pass < PASS_BYTES && s->bytes < lg->max_bytes) {
		ssize_t r =
		    recv(s->fd, lg->sink, sizeof lg->sink, MSG_DONTWAIT);

		if (r > 0) {
			s->bytes += (size_t)r;
			pass += (size_t)r;
			s->last_ms = now;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		return true; /* EOF: the client has read and closed; or error */
	}
	return s->bytes >= lg->max_bytes;
}

static void *linger_main(void *arg)
{
	struct linger_pool *lg = arg;

	for (;;) {
		unsigned n, i;
		int64_t now, timeout = -1;
		char junk[64];

		pthread_mutex_lock(&lg->lock);
		if (lg->stop) {
			pthread_mutex_unlock(&lg->lock);
			break;
		}
		n = lg->n;
		pthread_mutex_unlock(&lg->lock);

		now = now_ms();
		lg->pfds[0] = (struct pollfd){lg->wake[0], POLLIN, 0};
		for (i = 0; i < n; i++) {
			int64_t left = left_ms(lg, &lg->slots[i], now);

			lg->pfds[i + 1] =
			    (struct pollfd){lg->slots[i].fd, POLLIN, 0};
			if (timeout < 0 || left < timeout)
				timeout = left;
		}
		if (poll(lg->pfds, n + 1, (int)timeout) < 0)
			for (i = 0; i <= n; i++)
				lg->pfds[i].revents = 0;
		while (read(lg->wake[0], junk, sizeof junk) > 0)
			;

		now = now_ms();
		for (i = 0; i < n; i++) {
			struct slot *s = &lg->slots[i];

			lg->drop[i] = false;
			if (lg->pfds[i + 1].revents != 0 && drain(lg, s, now))
				lg->drop[i] = true;
			else if (left_ms(lg, s, now) == 0)
				lg->drop[i] = true;
		}
		/* from the top down: what is swapped in from the end has been
		 * looked at and kept, or was added during the poll */
		pthread_mutex_lock(&lg->lock);
		for (i = n; i-- > 0;) {
			if (!lg->drop[i])
				continue;
			close(lg->slots[i].fd);
			lg->slots[i] = lg->slots[--lg->n];
		}
		pthread_mutex_unlock(&lg->lock);
	}
	return NULL;
}

struct linger_pool *linger_pool_new(unsigned max_fds, size_t max_bytes,
				    unsigned time_ms, unsigned idle_ms)
{
	struct linger_pool *lg = calloc(1, sizeof *lg);

	if (lg == NULL)
		return NULL;
	lg->wake[0] = lg->wake[1] = -1;
	lg->max_fds = max_fds;
	lg->max_bytes = max_bytes;
	lg->time_ms = time_ms;
	lg->idle_ms = idle_ms;
	lg->slots = calloc(max_fds ? max_fds : 1, sizeof *lg->slots);
	lg->pfds = calloc((size_t)max_fds + 1, sizeof *lg->pfds);
	lg->drop = calloc(max_fds ? max_fds : 1, sizeof *lg->drop);
	if (lg->slots == NULL || lg->pfds == NULL || lg->drop == NULL ||
	    pipe2(lg->wake, O_NONBLOCK | O_CLOEXEC) != 0)
		goto fail;
	pthread_mutex_init(&lg->lock, NULL);
	if (pthread_create(&lg->thread, NULL, linger_main, lg) != 0) {
		pthread_mutex_destroy(&lg->lock);
		goto fail;
	}
	return lg;
fail:
	if (lg->wake[0] >= 0) {
		close(lg->wake[0]);
		close(lg->wake[1]);
	}
	free(lg->slots);
	free(lg->pfds);
	free(lg->drop);
	free(lg);
	return NULL;
}

void linger_pool_add(struct linger_pool *lg, int fd)
{
	int64_t now = now_ms();
	bool taken = false;

	/* the answer and a FIN go out now, whatever happens next */
	(void)shutdown(fd, SHUT_WR);
	if (lg != NULL) {
		pthread_mutex_lock(&lg->lock);
		if (!lg->stop && lg->n < lg->max_fds) {
			lg->slots[lg->n++] =
			    (struct slot){fd, now, now, (size_t)0};
			taken = true;
		}
		pthread_mutex_unlock(&lg->lock);
	}
	if (!taken) {
		close(fd);
		return;
	}
	(void)!write(lg->wake[1], "", 1);
}

unsigned linger_pool_count(struct linger_pool *lg)
{
	unsigned n;

	if (lg == NULL)
		return 0;
	pthread_mutex_lock(&lg->lock);
	n = lg->n;
	pthread_mutex_unlock(&lg->lock);
	return n;
}

void linger_pool_free(struct linger_pool *lg)
{
	if (lg == NULL)
		return;
	pthread_mutex_lock(&lg->lock);
	lg->stop = true;
	pthread_mutex_unlock(&lg->lock);
	(void)!write(lg->wake[1], "", 1);
	pthread_join(lg->thread, NULL);
	for (unsigned i = 0; i < lg->n; i++)
		close(lg->slots[i].fd);
	close(lg->wake[0]);
	close(lg->wake[1]);
	pthread_mutex_destroy(&lg->lock);
	free(lg->slots);
	free(lg->pfds);
	free(lg->drop);
	free(lg);
}
