/* tokyo_time.h - the one text of a moment the service writes: ISO 8601 in
 * Asia/Tokyo (UTC+9 all year: Japan has no daylight saving time), e.g.
 * "2025-06-01T09:30:12+09:00".  Used for evaluated_at, updated_at,
 * created_at/revoked_at and the audit log's times. */
#ifndef SHIKAKU_BASE_TOKYO_TIME_H
#define SHIKAKU_BASE_TOKYO_TIME_H

#include <stdint.h>

#define BASE_TOKYO_TIME_LEN    25 /* "2025-06-01T09:30:12+09:00" */
#define BASE_TOKYO_TIME_MS_LEN 29 /* "2025-06-01T09:30:12.345+09:00" */

/* Writes the second of the POSIX time now (seconds, the fraction
 * dropped) and its NUL into out. */
void base_tokyo_time(double now, char out[BASE_TOKYO_TIME_LEN + 1]);

/* Writes the millisecond of the POSIX time ms (milliseconds) and its NUL
 * into out. */
void base_tokyo_time_ms(int64_t ms, char out[BASE_TOKYO_TIME_MS_LEN + 1]);

#endif
