/* test_linger.c - lingering close (service/linger.c): a socket handed over
 * is half-closed at once, read until its peer closes, and closed at the
 * first of its bounds (bytes, total time, idle time); one over the table's
 * size is closed at once; freeing the pool closes what lingers. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "service/linger.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits up to seconds for the pool to hold n sockets. */
static bool count_becomes(struct linger_pool *lg, unsigned n, double seconds)
{
	double end = now_s() + seconds;
	struct timespec ms = {0, 5 * 1000 * 1000};

	while (linger_pool_count(lg) != n) {
		if (now_s() > end)
			return false;
		nanosleep(&ms, NULL);
	}
	return true;
}

/* A connected pair: *ours goes to the pool, *peer plays the client. */
static void pair(int *ours, int *peer)
{
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	*ours = sv[0];
	*peer = sv[1];
}

/* The peer reads what was sent before the hand-over, then end of file: the
 * write side was shut down, the socket still open. */
static void peer_reads_answer_then_eof(int peer, const char *answer)
{
	char buf[64] = {0};
	struct pollfd p = {peer, POLLIN, 0};

	cr_assert_eq(poll(&p, 1, 2000), 1);
	cr_assert_eq(recv(peer, buf, sizeof buf - 1, 0),
		     (ssize_t)strlen(answer));
	cr_assert_str_eq(buf, answer);
	cr_assert_eq(poll(&p, 1, 2000), 1);
	cr_assert_eq(recv(peer, buf, sizeof buf, 0), 0);
}

/* Sends until the pool's end is closed (EPIPE/ECONNRESET) -> bytes sent. */
static size_t send_until_closed(int peer, double seconds)
{
	static char junk[4096];
	double end = now_s() + seconds;
	size_t sent = 0;

	while (now_s() < end) {
		ssize_t r = send(peer, junk, sizeof junk, MSG_NOSIGNAL);

		if (r < 0)
			return errno == EPIPE || errno == ECONNRESET ? sent : 0;
		sent += (size_t)r;
	}
	return 0;
}

Test(linger, reads_until_the_peer_closes)
{
	struct linger_pool *lg = linger_pool_new(4, 1 << 20, 10000, 10000);
	int ours, peer;

	cr_assert_not_null(lg);
	pair(&ours, &peer);
	cr_assert_eq(send(ours, "413", 3, 0), 3);
	linger_pool_add(lg, ours);
	cr_assert_eq(linger_pool_count(lg), 1);
	peer_reads_answer_then_eof(peer, "413");
	/* still lingering: what the peer sends is read, not refused */
	cr_assert_eq(send(peer, "more body", 9, MSG_NOSIGNAL), 9);
	cr_assert(!count_becomes(lg, 0, 0.2));
	close(peer);
	cr_assert(count_becomes(lg, 0, 2.0));
	linger_pool_free(lg);
}

Test(linger, stops_reading_after_max_bytes)
{
	struct linger_pool *lg = linger_pool_new(4, 64 << 10, 10000, 10000);
	int ours, peer;
	size_t sent;

	pair(&ours, &peer);
	linger_pool_add(lg, ours);
	sent = send_until_closed(peer, 5.0);
	cr_assert_geq(sent, (size_t)64 << 10, "closed after %zu bytes", sent);
	cr_assert_lt(sent, (size_t)4 << 20, "read %zu bytes", sent);
	cr_assert(count_becomes(lg, 0, 2.0));
	close(peer);
	linger_pool_free(lg);
}

Test(linger, closes_an_idle_peer)
{
	struct linger_pool *lg = linger_pool_new(4, 1 << 20, 10000, 100);
	int ours, peer;
	double t0 = now_s();

	pair(&ours, &peer);
	linger_pool_add(lg, ours);
	cr_assert(count_becomes(lg, 0, 2.0));
	cr_assert_geq(now_s() - t0, 0.09);
	close(peer);
	linger_pool_free(lg);
}

Test(linger, closes_a_trickling_peer_after_its_time)
{
	struct linger_pool *lg = linger_pool_new(4, 1 << 20, 300, 10000);
	struct timespec ms20 = {0, 20 * 1000 * 1000};
	int ours, peer;
	double t0 = now_s();

	pair(&ours, &peer);
	linger_pool_add(lg, ours);
	while (linger_pool_count(lg) == 1 && now_s() - t0 < 3.0) {
		(void)send(peer, "x", 1, MSG_NOSIGNAL);
		nanosleep(&ms20, NULL);
	}
	cr_assert_eq(linger_pool_count(lg), 0);
	cr_assert_geq(now_s() - t0, 0.29);
	cr_assert_lt(now_s() - t0, 2.0);
	close(peer);
	linger_pool_free(lg);
}

Test(linger, one_over_the_table_is_closed_at_once)
{
	struct linger_pool *lg = linger_pool_new(1, 1 << 20, 10000, 10000);
	int a, pa, b, pb;

	pair(&a, &pa);
	pair(&b, &pb);
	linger_pool_add(lg, a);
	linger_pool_add(lg, b);
	cr_assert_eq(linger_pool_count(lg), 1);
	/* b is gone: its peer cannot send */
	cr_assert_eq(send(pb, "x", 1, MSG_NOSIGNAL), -1);
	cr_assert_eq(send(pa, "x", 1, MSG_NOSIGNAL), 1);
	linger_pool_free(lg); /* closes a */
	cr_assert_eq(send(pa, "x", 1, MSG_NOSIGNAL), -1);
	close(pa);
	close(pb);
}

Test(linger, null_pool_closes_at_once)
{
	int ours, peer;

	pair(&ours, &peer);
	linger_pool_add(NULL, ours);
	cr_assert_eq(send(peer, "x", 1, MSG_NOSIGNAL), -1);
	cr_assert_eq(linger_pool_count(NULL), 0);
	linger_pool_free(NULL);
	close(peer);
}
