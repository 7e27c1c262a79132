/* linger.h - lingering close of refused connections (as nginx does).
 *
 * A client that is still sending its body when the server answers and
 * closes would be sent a TCP reset by close(): the reset can throw away the
 * answer before the client has read it, and a client that only reads once
 * it has sent everything (Python's http.client) gets EPIPE instead of its
 * 413.  A lingering close half-closes the write side (the answer and a FIN
 * go out) and keeps reading, dropping what comes, so that the client can
 * finish sending and read the answer; then it closes.
 *
 * One thread watches every lingering socket.  Each is closed at the first
 * of: the client closes (EOF) or errs, max_bytes read, time_ms since it was
 * handed over, idle_ms without data.  At most max_fds linger at once: one
 * more is closed at once (the old behaviour), so a flood of refused
 * requests costs a bounded amount.
 */
#ifndef SHIKAKU_SERVICE_LINGER_H
#define SHIKAKU_SERVICE_LINGER_H

#include <stddef.h>

struct linger_pool;

/* A new lingerer with its thread, or NULL (out of memory or threads). */
struct linger_pool *linger_pool_new(unsigned max_fds, size_t max_bytes,
				    unsigned time_ms, unsigned idle_ms);

/* Takes fd (a connected stream socket): shuts down its write side and
 * reads it until one of the bounds above, then closes it.  Safe from any
 * thread.  With lg NULL, or max_fds already lingering, closes fd now. */
void linger_pool_add(struct linger_pool *lg, int fd);

/* How many sockets linger now (for tests and logs). */
unsigned linger_pool_count(struct linger_pool *lg);

/* Closes every lingering socket, ends the thread and frees lg (NULL is a
 * no-op). */
void linger_pool_free(struct linger_pool *lg);

#endif
