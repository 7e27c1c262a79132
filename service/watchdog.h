/* watchdog.h - deadlines for slow clients, and room for new ones (SPEC §10:
 * a slow or flooding client, from one address or many, cannot stop others
 * from being served).
 *
 * libmicrohttpd 0.9.75 has one timeout, which any byte resets: a client
 * that sends a header byte every 20 s keeps its connection for ever, and
 * enough of them (from enough addresses to pass the per-address limit)
 * hold every connection.  The watchdog adds, per connection:
 *
 *   - a head deadline: a request's head must be complete within head_ms
 *     of the connection's accept, or of the end of its previous request
 *     (so an idle keep-alive connection also ends after head_ms);
 *   - a minimum body rate for bodies the server buffers: from grace_ms
 *     after the head on, at least min_rate bytes a second on average
 *     (watchdog_body_too_slow).  The server answers 408 to a client that
 *     falls behind when its next bytes arrive; the watchdog cuts one that
 *     has sent nothing for grace_ms while behind;
 *   - room: watchdog_evict cuts connections waiting for a head (those
 *     that never had an answer first), so that a new client is served
 *     when every connection is taken by clients that send nothing useful.
 *
 * A connection is cut by shutdown(fd, SHUT_RDWR): libmicrohttpd sees the
 * end of the stream and closes the connection its usual way, once (its
 * completion and close notifications included).  The watchdog never
 * closes a descriptor.  It shuts one down only under its lock, and
 * watchdog_remove, which the server calls from libmicrohttpd's close
 * notification (before libmicrohttpd closes the descriptor), takes that
 * lock: a descriptor number that a new socket reuses is never touched.
 *
 * The phase calls (watchdog_head, _body, _busy, _idle) are lock-free, for
 * the request path; a connection once cut stays cut.
 */
#ifndef SHIKAKU_SERVICE_WATCHDOG_H
#define SHIKAKU_SERVICE_WATCHDOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct watchdog;

struct watchdog_limits {
	unsigned head_ms;       /* 0: no head deadline */
	size_t body_min_rate;   /* bytes a second; 0: no minimum */
	unsigned body_grace_ms; /* before the minimum rate counts */
};

/* What was cut since the start (for the log and tests). */
struct watchdog_counts {
	unsigned long long head_timeouts; /* head not complete in time */
	unsigned long long slow_bodies;   /* body silent and behind */
	unsigned long long evicted;       /* cut to make room */
};

/* A watchdog for at most max_conns connections at once, with its thread;
 * NULL when out of memory or threads.  lim is copied. */
struct watchdog *watchdog_new(unsigned max_conns,
			      const struct watchdog_limits *lim);

/* Stops the thread and frees wd (NULL is a no-op).  Call it once no
 * connection is left (after MHD_stop_daemon). */
void watchdog_free(struct watchdog *wd);

/* A new connection on socket fd, waiting for its first head: its id, or 0
 * when wd is NULL or full (the connection is then not watched).  Every id
 * argument below may be 0 (a no-op). */
unsigned watchdog_add(struct watchdog *wd, int fd);

/* The connection closes: forget it.  Call before its fd is closed. */
void watchdog_remove(struct watchdog *wd, unsigned id);

/* Its request head is complete; body: a body the server buffers follows
 * (the minimum rate applies to it), else nothing is watched until
 * watchdog_idle. */
void watchdog_head(struct watchdog *wd, unsigned id, bool body);

/* total bytes of the body have arrived so far. */
void watchdog_body(struct watchdog *wd, unsigned id, size_t total);

/* The body is complete (or not watched any more): being answered. */
void watchdog_busy(struct watchdog *wd, unsigned id);

/* Answered: waiting for the next head (keep-alive). */
void watchdog_idle(struct watchdog *wd, unsigned id);

/* Cuts up to n of the connections waiting for a head, never keep (an id,
 * or 0): first those that never had an answer (a slow client never
 * completes a head), the longest waiting first, then idle keep-alive
 * ones; returns how many it cut. */
unsigned watchdog_evict(struct watchdog *wd, unsigned n, unsigned keep);

/* How many connections are cut and not yet removed: they are about to
 * close, and no longer count against the connection limit. */
unsigned watchdog_cutting(struct watchdog *wd);

void watchdog_counts(struct watchdog *wd, struct watchdog_counts *out);

/* Is a body of bytes so far, elapsed_ms after its head, behind the
 * minimum rate?  Never within the grace time; never without a minimum. */
bool watchdog_body_too_slow(const struct watchdog_limits *lim, size_t bytes,
			    int64_t elapsed_ms);

#endif
