/* log.c - JSON lines on stderr; see log.h. */
#include "service/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/json_str.h"
#include "base/utf8.h"
/* Room always kept for `,"truncated":true}` and the newline, so that a
 * line cut short still closes. */
#define LOG_TAIL 24

static const char *const level_names[] = {"debug", "info", "warn", "error"};

static size_t room(const struct log_line *l)
{
	return sizeof l->buf - LOG_TAIL - l->len;
}

/* Appends raw bytes, all or nothing. */
static bool put(struct log_line *l, const char *s, size_t n)
{
	if (l->truncated || n > room(l)) {
		l->truncated = true;
		return false;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	return true;
}

static bool puts_(struct log_line *l, const char *s)
{
	return put(l, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	uint32_t cp;

	return base_utf8_seq(s, n, &cp);
}

/* Appends a JSON string of at most max bytes of s; a character that would
 * cross max or the buffer's end is left out whole.  Returns false, having
 * written nothing, when not even the opening quote fits. */
static bool put_json_string(struct log_line *l, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strnlen(s, max);
	size_t i = 0;

	/* cut before a character that max would split */
	if (n == max)
		for (int k = 0; k < 3 && n > 0 && (p[n] & 0xC0) == 0x80; k++)
			n--;

	if (!put(l, "\"", 1))
		return false;
	while (i < n) {
		char esc[BASE_JSON_ESCAPE_MAX];
		size_t seq = utf8_seq(p + i, n - i);

		if (seq == 0) {
			/* an invalid byte, or a sequence cut by max */
			if (!puts_(l, "\\ufffd"))
				break;
			i++;
			continue;
		}
		if (seq == 1 && base_json_must_escape(p[i])) {
			if (!put(l, esc, base_json_escape(p[i], esc)))
				break;
		} else if (!put(l, s + i, seq)) {
			break;
		}
		i += seq;
	}
	/* close the string we are in, in the tail's room when it came to
	 * that (its closing quote included): the line stays JSON */
	if (l->truncated || !put(l, "\"", 1))
		l->buf[l->len++] = '"';
	return true;
}

/* Keys are our own literals (no escaping needed).  No snprintf: a
 * request line has seven members, at tens of thousands of lines a
 * second. */
static bool put_key(struct log_line *l, const char *key)
{
	char tmp[64];
	size_t n = strlen(key);

	if (n + 4 > sizeof tmp)
		return false;
	tmp[0] = ',';
	tmp[1] = '"';
	memcpy(tmp + 2, key, n);
	tmp[n + 2] = '"';
	tmp[n + 3] = ':';
	return put(l, tmp, n + 4);
}

/* Writes v in decimal into out (at least 21 bytes); returns the length. */
static size_t put_decimal(char *out, unsigned long long v)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

void log_begin(struct log_line *l, enum log_level level, const char *event)
{
	/* The text up to the seconds is kept per thread for the second it
	 * is for: no strftime, no snprintf on a request's line. */
	static _Thread_local time_t last = -1;
	static _Thread_local char prefix[40];
	static _Thread_local size_t prefix_len;
	const char *name =
	    level_names[(unsigned)level < 4 ? (unsigned)level : 1];
	struct timespec ts;
	struct tm tm;
	char ms[6];
	long m;

	l->len = 0;
	l->truncated = false;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != last) {
		gmtime_r(&ts.tv_sec, &tm);
		prefix_len = strftime(prefix, sizeof prefix,
				      "{\"time\":\"%Y-%m-%dT%H:%M:%S.", &tm);
		last = ts.tv_sec;
	}
	put(l, prefix, prefix_len);
	m = ts.tv_nsec / 1000000L;
	ms[0] = (char)('0' + m / 100);
	ms[1] = (char)('0' + m / 10 % 10);
	ms[2] = (char)('0' + m % 10);
	ms[3] = 'Z';
	ms[4] = '"';
	put(l, ms, 5);
	puts_(l, ",\"level\":\"");
	puts_(l, name);
	put(l, "\"", 1);
	log_str(l, "event", event);
}

/* A member whose value did not fit at all is taken back whole, key
 * included: never a dangling "key": before the tail. */
static void put_value(struct log_line *l, size_t mark, const char *v, size_t n)
{
	if (!put(l, v, n))
		l->len = mark;
}

void log_strn(struct log_line *l, const char *key, const char *value,
	      size_t max)
{
	size_t mark = l->len;

	if (!put_key(l, key))
		return;
	if (value == NULL)
		put_value(l, mark, "null", 4);
	else if (!put_json_string(l, value, max))
		l->len = mark;
}

void log_str(struct log_line *l, const char *key, const char *value)
{
	log_strn(l, key, value, SIZE_MAX);
}

void log_int(struct log_line *l, const char *key, long long value)
{
	char tmp[32];
	size_t n = 0, mark = l->len;

	if (value < 0)
		tmp[n++] = '-';
	/* the magnitude without overflow, LLONG_MIN included */
	n += put_decimal(tmp + n, value < 0 ? 0ULL - (unsigned long long)value
					    : (unsigned long long)value);
	if (put_key(l, key))
		put_value(l, mark, tmp, n);
}

void log_ms(struct log_line *l, const char *key, double value)
{
	size_t mark = l->len, n;
	unsigned long long us;
	char tmp[48];

	if (!(value >= 0 && value < 1e12)) /* NaN and nonsense too */
		value = 0;
	us = (unsigned long long)(value * 1000.0 + 0.5); /* thousandths */
	n = put_decimal(tmp, us / 1000);
	tmp[n++] = '.';
	tmp[n++] = (char)('0' + us / 100 % 10);
	tmp[n++] = (char)('0' + us / 10 % 10);
	tmp[n++] = (char)('0' + us % 10);
	if (put_key(l, key))
		put_value(l, mark, tmp, n);
}

void log_bool(struct log_line *l, const char *key, bool value)
{
	size_t mark = l->len;

	if (put_key(l, key))
		put_value(l, mark, value ? "true" : "false", value ? 4 : 5);
}

/* ---- buffered request lines -------------------------------------------- */

/* A thread's request lines wait here (at most LOG_FLUSH_MS) and leave in
 * one write(2).  Buffers are never freed: a thread that logged may log
 * again until the process ends. */
#define LOG_BUFFER_SIZE ((size_t)32 << 10)

struct log_buffer {
	pthread_mutex_t lock;
	struct log_buffer *next;
	size_t len;
	char data[LOG_BUFFER_SIZE];
};

static pthread_mutex_t buffers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct log_buffer *buffers;
static atomic_bool buffering;
static _Thread_local struct log_buffer *mine;

static pthread_mutex_t flusher_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t flusher_wake = PTHREAD_COND_INITIALIZER;
static pthread_t flusher;
static bool flusher_stop;

static void write_all(const char *data, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t w = write(STDERR_FILENO, data + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* nowhere to report a failing stderr */
		off += (size_t)w;
	}
}

/* Writes out b's lines; the caller holds b->lock. */
static void buffer_drain(struct log_buffer *b)
{
	write_all(b->data, b->len);
	b->len = 0;
}

/* The calling thread's buffer, made on its first line; NULL when memory
 * is short (the line is then written at once). */
static struct log_buffer *my_buffer(void)
{
	struct log_buffer *b = mine;

	if (b)
		return b;
	b = malloc(sizeof *b);
	if (!b)
		return NULL;
	pthread_mutex_init(&b->lock, NULL);
	b->len = 0;
	pthread_mutex_lock(&buffers_lock);
	b->next = buffers;
	buffers = b;
	pthread_mutex_unlock(&buffers_lock);
	mine = b;
	return b;
}

static void drain_all(void)
{
	struct log_buffer *b;

	pthread_mutex_lock(&buffers_lock);
	for (b = buffers; b; b = b->next) {
		pthread_mutex_lock(&b->lock);
		buffer_drain(b);
		pthread_mutex_unlock(&b->lock);
	}
	pthread_mutex_unlock(&buffers_lock);
}

static void *flusher_main(void *arg)
{
	struct timespec until;

	(void)arg;
	pthread_mutex_lock(&flusher_lock);
	while (!flusher_stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += LOG_FLUSH_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&flusher_wake, &flusher_lock, &until);
		pthread_mutex_unlock(&flusher_lock);
		drain_all();
		pthread_mutex_lock(&flusher_lock);
	}
	pthread_mutex_unlock(&flusher_lock);
	return NULL;
}

int log_buffering_start(void)
{
	flusher_stop = false;
	if (pthread_create(&flusher, NULL, flusher_main, NULL) != 0)
		return -1;
	atomic_store(&buffering, true);
	return 0;
}

void log_buffering_stop(void)
{
	if (!atomic_exchange(&buffering, false))
		return;
	pthread_mutex_lock(&flusher_lock);
	flusher_stop = true;
	pthread_cond_signal(&flusher_wake);
	pthread_mutex_unlock(&flusher_lock);
	pthread_join(flusher, NULL);
	drain_all();
}

/* Closes the object: the tail always fits, room() kept LOG_TAIL bytes
 * back. */
static void close_line(struct log_line *l)
{
	const char *tail = l->truncated ? ",\"truncated\":true}\n" : "}\n";
	size_t n = strlen(tail);

	memcpy(l->buf + l->len, tail, n);
	l->len += n;
}

void log_end(struct log_line *l)
{
	struct log_buffer *b = mine;

	close_line(l);
	if (b) {
		/* this thread's buffered lines first: its lines stay in
		 * order */
		pthread_mutex_lock(&b->lock);
		buffer_drain(b);
		write_all(l->buf, l->len);
		pthread_mutex_unlock(&b->lock);
		return;
	}
	write_all(l->buf, l->len);
}

void log_end_buffered(struct log_line *l)
{
	struct log_buffer *b;

	if (!atomic_load_explicit(&buffering, memory_order_relaxed) ||
	    !(b = my_buffer())) {
		log_end(l);
		return;
	}
	close_line(l);
	pthread_mutex_lock(&b->lock);
	if (l->len > LOG_BUFFER_SIZE - b->len)
		buffer_drain(b);
	memcpy(b->data + b->len, l->buf, l->len);
	b->len += l->len;
	pthread_mutex_unlock(&b->lock);
}

void log_event(enum log_level level, const char *event, const char *message)
{
	struct log_line l;

	log_begin(&l, level, event);
	if (message != NULL)
		log_str(&l, "message", message);
	log_end(&l);
}
