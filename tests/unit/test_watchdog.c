/* test_watchdog.c - service/watchdog.c on socket pairs: a head past its
 * deadline and a silent body behind the minimum rate are shut down (the
 * peer reads end of file), a busy connection is not; eviction cuts those
 * that never had an answer first, the longest waiting first; the rate rule
 * itself. */
#include <criterion/criterion.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "service/watchdog.h"

static void pair(int *ours, int *peer)
{
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	*ours = sv[0];
	*peer = sv[1];
}

/* Does peer read end of file within ms? */
static bool eof_within(int peer, int ms)
{
	struct pollfd p = {peer, POLLIN, 0};
	char c;

	if (poll(&p, 1, ms) != 1)
		return false;
	return recv(peer, &c, 1, MSG_DONTWAIT) == 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

Test(watchdog, body_rate_rule)
{
	struct watchdog_limits lim = {0, 1000, 5000};
	struct watchdog_limits none = {0, 0, 5000};

	cr_expect(!watchdog_body_too_slow(&lim, 0, 5000));
	cr_expect(watchdog_body_too_slow(&lim, 0, 5001));
	cr_expect(!watchdog_body_too_slow(&lim, 1000, 6000));
	cr_expect(watchdog_body_too_slow(&lim, 999, 6000));
	cr_expect(!watchdog_body_too_slow(&lim, (size_t)1 << 40, INT64_MAX));
	cr_expect(watchdog_body_too_slow(&lim, 10, INT64_MAX));
	cr_expect(!watchdog_body_too_slow(&none, 0, 100000));
}

Test(watchdog, head_deadline)
{
	struct watchdog_limits lim = {200, 0, 0};
	struct watchdog *wd = watchdog_new(4, &lim);
	int a, pa, b, pb;
	unsigned ia, ib;

	cr_assert_not_null(wd);
	pair(&a, &pa);
	pair(&b, &pb);
	ia = watchdog_add(wd, a);
	ib = watchdog_add(wd, b);
	cr_assert(ia != 0 && ib != 0 && ia != ib);
	watchdog_head(wd, ib, false); /* busy: never cut */
	cr_expect(eof_within(pa, 2000), "the waiting one was not cut");
	cr_expect_eq(watchdog_cutting(wd), 1);
	/* a cut one stays cut: a late phase change does not revive it */
	watchdog_head(wd, ia, false);
	watchdog_idle(wd, ia);
	cr_expect(!eof_within(pb, 500), "the busy one was cut");
	/* answered: its next head has 200 ms again */
	watchdog_idle(wd, ib);
	cr_expect(eof_within(pb, 2000));
	watchdog_remove(wd, ia);
	watchdog_remove(wd, ib);
	cr_expect_eq(watchdog_cutting(wd), 0);
	watchdog_free(wd);
	close(a);
	close(b);
	close(pa);
	close(pb);
}

Test(watchdog, silent_body_behind_the_rate)
{
	struct watchdog_limits lim = {0, 1000, 300};
	struct watchdog *wd = watchdog_new(2, &lim);
	int a, pa, b, pb;
	unsigned ia, ib;

	pair(&a, &pa);
	pair(&b, &pb);
	ia = watchdog_add(wd, a);
	ib = watchdog_add(wd, b);
	watchdog_head(wd, ia, true);
	watchdog_head(wd, ib, true);
	/* b keeps the pace (2000 B/s), a sends nothing */
	for (int i = 1; i <= 10; i++) {
		sleep_ms(100);
		watchdog_body(wd, ib, (size_t)i * 200);
	}
	cr_expect(eof_within(pa, 1000), "the silent body was not cut");
	cr_expect(!eof_within(pb, 100), "the body keeping the pace was cut");
	watchdog_busy(wd, ib);
	{
		struct watchdog_counts c;

		watchdog_counts(wd, &c);
		cr_expect_eq(c.slow_bodies, 1);
		cr_expect_eq(c.head_timeouts, 0);
	}
	watchdog_remove(wd, ia);
	watchdog_remove(wd, ib);
	watchdog_free(wd);
	close(a);
	close(b);
	close(pa);
	close(pb);
}

Test(watchdog, evicts_never_answered_first_then_oldest)
{
	struct watchdog_limits lim = {0, 0, 0}; /* no deadline */
	struct watchdog *wd = watchdog_new(8, &lim);
	int fd[5], peer[5];
	unsigned id[5];

	for (int i = 0; i < 5; i++) {
		pair(&fd[i], &peer[i]);
		id[i] = watchdog_add(wd, fd[i]);
		sleep_ms(5);
	}
	watchdog_head(wd, id[0], false); /* busy */
	watchdog_idle(wd, id[1]);        /* answered, waits again */
	/* 2, 3, 4 never had an answer; 4 is the new one (kept) */
	cr_expect_eq(watchdog_evict(wd, 1, id[4]), 1);
	cr_expect(eof_within(peer[2], 1000), "not the oldest never answered");
	cr_expect(!eof_within(peer[3], 50));
	cr_expect_eq(watchdog_evict(wd, 2, id[4]), 2);
	cr_expect(eof_within(peer[3], 1000));
	cr_expect(eof_within(peer[1], 1000), "the idle keep-alive one next");
	/* only the busy and the kept are left: nothing more to cut */
	cr_expect_eq(watchdog_evict(wd, 3, id[4]), 0);
	cr_expect(!eof_within(peer[0], 50));
	cr_expect(!eof_within(peer[4], 50));
	cr_expect_eq(watchdog_cutting(wd), 3);
	for (int i = 0; i < 5; i++)
		watchdog_remove(wd, id[i]);
	cr_expect_eq(watchdog_cutting(wd), 0);
	/* freed slots are given again */
	cr_expect_neq(watchdog_add(wd, fd[0]), 0);
	watchdog_free(wd);
	for (int i = 0; i < 5; i++) {
		close(fd[i]);
		close(peer[i]);
	}
}

Test(watchdog, full_and_null)
{
	struct watchdog_limits lim = {0, 0, 0};
	struct watchdog *wd = watchdog_new(1, &lim);

	cr_expect_neq(watchdog_add(wd, 0), 0);
	cr_expect_eq(watchdog_add(wd, 0), 0, "one over its size");
	cr_expect_eq(watchdog_add(NULL, 0), 0);
	watchdog_head(NULL, 1, true);
	watchdog_remove(wd, 0);
	watchdog_remove(wd, 99);
	cr_expect_eq(watchdog_evict(NULL, 1, 0), 0);
	cr_expect_eq(watchdog_cutting(NULL), 0);
	watchdog_free(wd);
	watchdog_free(NULL);
}
