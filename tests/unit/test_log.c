/* test_log.c - buffered request lines (service/log.c): every line arrives
 * whole, once, and in its thread's order, also across an immediate line
 * and a full buffer; stopping writes out what waits. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service/log.h"

#define THREADS 3
#define LINES   4000

static char path[] = "/tmp/shikaku-log-XXXXXX";
static int saved = -1;

/* stderr goes to a temporary file for the test */
static void redirect(void)
{
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	cr_assert(dup2(fd, STDERR_FILENO) >= 0);
	close(fd);
}

static char *restore_and_read(size_t *len)
{
	FILE *f;
	char *text;
	long n;

	dup2(saved, STDERR_FILENO);
	close(saved);
	f = fopen(path, "rb");
	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = malloc((size_t)n + 1);
	cr_assert_eq(fread(text, 1, (size_t)n, f), (size_t)n);
	text[n] = '\0';
	fclose(f);
	unlink(path);
	*len = (size_t)n;
	return text;
}

static void *writer(void *arg)
{
	long t = (long)arg;
	struct log_line l;
	int i;

	for (i = 0; i < LINES; i++) {
		log_begin(&l, LOG_INFO, "request");
		log_int(&l, "thread", t);
		log_int(&l, "seq", i);
		/* now and then an immediate line in between */
		if (i % 997 == 0)
			log_end(&l);
		else
			log_end_buffered(&l);
	}
	return NULL;
}

Test(log, buffered_lines_arrive_whole_once_and_in_order)
{
	pthread_t th[THREADS];
	int next[THREADS] = {0};
	char *text, *line, *save = NULL;
	size_t len, lines = 0;
	long t;

	redirect();
	cr_assert_eq(log_buffering_start(), 0);
	for (t = 0; t < THREADS; t++)
		pthread_create(&th[t], NULL, writer, (void *)t);
	for (t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	log_buffering_stop();
	text = restore_and_read(&len);
	cr_assert(len > 0 && text[len - 1] == '\n');
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		int th_no, seq;
		const char *p = strstr(line, "\"thread\":");

		cr_assert(line[0] == '{' && line[strlen(line) - 1] == '}',
			  "a broken line: %.80s", line);
		cr_assert_not_null(p, "%.80s", line);
		cr_assert_eq(
		    sscanf(p, "\"thread\":%d,\"seq\":%d", &th_no, &seq), 2,
		    "%.80s", line);
		cr_assert(th_no >= 0 && th_no < THREADS);
		cr_assert_eq(seq, next[th_no], "thread %d: line %d after %d",
			     th_no, seq, next[th_no] - 1);
		next[th_no]++;
		lines++;
	}
	cr_assert_eq(lines, (size_t)THREADS * LINES);
	free(text);
}

Test(log, without_buffering_lines_are_written_at_once)
{
	struct log_line l;
	char *text;
	size_t len;

	redirect();
	log_begin(&l, LOG_INFO, "request");
	log_str(&l, "request_id", "now-1");
	log_end_buffered(&l);
	/* no flusher, no stop: the line must be there already */
	text = restore_and_read(&len);
	cr_assert_not_null(strstr(text, "\"now-1\""), "%s", text);
	free(text);
}

/* Numbers and times are written by hand (no snprintf on the hot path):
 * the texts must be what printf would give. */
Test(log, numbers_and_time_as_printf_would_write_them)
{
	static const long long ints[] = {
	    0, 7, -7, 1234567890123LL, LLONG_MAX, LLONG_MIN};
	static const double ms[] = {0, 0.069, 1.5, 12.3456, 999.9999, 1e11};
	struct log_line l;
	char want[96], *at;
	size_t i;

	for (i = 0; i < sizeof ints / sizeof ints[0]; i++) {
		log_begin(&l, LOG_INFO, "x");
		log_int(&l, "n", ints[i]);
		l.buf[l.len] = '\0';
		snprintf(want, sizeof want, ",\"n\":%lld", ints[i]);
		cr_assert_not_null(strstr(l.buf, want), "%s", l.buf);
	}
	for (i = 0; i < sizeof ms / sizeof ms[0]; i++) {
		log_begin(&l, LOG_INFO, "x");
		log_ms(&l, "d", ms[i]);
		l.buf[l.len] = '\0';
		snprintf(want, sizeof want, ",\"d\":%.3f", ms[i]);
		cr_assert_not_null(strstr(l.buf, want), "%s vs %s", l.buf,
				   want);
	}
	log_begin(&l, LOG_WARN, "x");
	l.buf[l.len] = '\0';
	at = strstr(l.buf, "\"time\":\"");
	cr_assert_not_null(at);
	/* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
	cr_assert_eq(strlen(at + 8) >= 25, true);
	cr_assert_eq(at[8 + 4], '-');
	cr_assert_eq(at[8 + 10], 'T');
	cr_assert_eq(at[8 + 19], '.');
	cr_assert_eq(at[8 + 23], 'Z');
	cr_assert_eq(at[8 + 24], '"');
	cr_assert_not_null(strstr(l.buf, "\"level\":\"warn\",\"event\":\"x\""),
			   "%s", l.buf);
}
