/* log.h - one JSON object a line on stderr.
 *
 * A line is built in a fixed buffer on the caller's stack and written with
 * one write(2), so lines from different threads never interleave; request
 * lines may be buffered (see log_end_buffered).  Safe from any thread.
 *
 * What goes in a line is the caller's choice, and the caller's duty: never a
 * request body, a query value, a header value other than the request id, a
 * person's facts, or a key (SPEC §8, §9).
 *
 *	struct log_line l;
 *	log_begin(&l, LOG_INFO, "listening");
 *	log_str(&l, "address", "127.0.0.1");
 *	log_int(&l, "port", 8080);
 *	log_end(&l);
 *
 * A line that would not fit is cut short, stays valid JSON and says
 * "truncated":true.
 */
#ifndef SHIKAKU_SERVICE_LOG_H
#define SHIKAKU_SERVICE_LOG_H

#include <stdbool.h>
#include <stddef.h>

#define LOG_LINE_MAX 2048

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

struct log_line {
	char buf[LOG_LINE_MAX];
	size_t len;
	bool truncated;
};

/* Starts a line with "time" (ISO 8601 UTC, milliseconds), "level" and
 * "event".  event is borrowed, copied. */
void log_begin(struct log_line *l, enum log_level level, const char *event);
/* Adds "key":"value", escaped for JSON; invalid UTF-8 becomes U+FFFD.
 * value NULL adds null.  key must be plain ASCII needing no escape. */
void log_str(struct log_line *l, const char *key, const char *value);
/* Like log_str, but at most max bytes of value (cut on a UTF-8 boundary):
 * for strings a client chose, such as the method. */
void log_strn(struct log_line *l, const char *key, const char *value,
	      size_t max);
void log_int(struct log_line *l, const char *key, long long value);
/* A number with three decimals (durations in milliseconds). */
void log_ms(struct log_line *l, const char *key, double value);
void log_bool(struct log_line *l, const char *key, bool value);
/* Closes the object and writes the line to stderr with one write(2)
 * (after the calling thread's buffered lines, if any). */
void log_end(struct log_line *l);

/* ---- buffered lines: the request log ------------------------------------
 *
 * One write(2) per request line was 7 % of the server's time under load
 * (perf, `make bench`).  Between log_buffering_start and _stop, lines
 * ended with log_end_buffered wait in a buffer of the calling thread and
 * leave with the others within LOG_FLUSH_MS (or when the buffer is full),
 * in one write.  Lines of one thread keep their order; lines of different
 * threads may reach stderr up to LOG_FLUSH_MS out of time order (each
 * carries its time).  A process killed with SIGKILL loses at most the
 * last LOG_FLUSH_MS of request lines; _stop writes everything out. */
#define LOG_FLUSH_MS 50

/* Starts the thread that flushes buffers: -1 when it cannot start (lines
 * are then written at once). */
int log_buffering_start(void);
void log_buffering_stop(void);
/* Like log_end, but buffered while buffering is on. */
void log_end_buffered(struct log_line *l);

/* One-shot helpers: a line with "event" and, when message is not NULL,
 * "message". */
void log_event(enum log_level level, const char *event, const char *message);

#endif
