/* tokyo_time.c - see tokyo_time.h. */
#include "base/tokyo_time.h"

#include <string.h>
#include <time.h>

#define SECOND_LEN 19 /* "2025-06-01T09:30:12" */

/* "YYYY-MM-DDTHH:MM:SS" of POSIX second s in Tokyo.  The text of the last
 * second is kept per thread: strftime was a visible part of every answer,
 * and the audit writer formats every row's time. */
static const char *tokyo_second(int64_t s)
{
	static _Thread_local int64_t last = INT64_MIN;
	static _Thread_local char text[32];

	if (s != last) {
		time_t t = (time_t)(s + 9 * 3600);
		struct tm tm;
		size_t n;

		gmtime_r(&t, &tm);
		n = strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
		text[n < SECOND_LEN ? n : SECOND_LEN] = '\0';
		last = s;
	}
	return text;
}

void base_tokyo_time(double now, char out[BASE_TOKYO_TIME_LEN + 1])
{
	int64_t s = (int64_t)now;

	if ((double)s > now)
		s--; /* floor, for a time before 1970 */
	memcpy(out, tokyo_second(s), SECOND_LEN);
	memcpy(out + SECOND_LEN, "+09:00", 7);
}

void base_tokyo_time_ms(int64_t ms, char out[BASE_TOKYO_TIME_MS_LEN + 1])
{
	int64_t s = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
	int milli = (int)(ms - s * 1000);

	memcpy(out, tokyo_second(s), SECOND_LEN);
	out[SECOND_LEN] = '.';
	out[SECOND_LEN + 1] = (char)('0' + milli / 100);
	out[SECOND_LEN + 2] = (char)('0' + milli / 10 % 10);
	out[SECOND_LEN + 3] = (char)('0' + milli % 10);
	memcpy(out + SECOND_LEN + 4, "+09:00", 7);
}
