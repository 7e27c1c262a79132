/* audit.h - GET /v1/audit (SPEC §6, §8): the audit log for admins.
 *
 * Query: person_id, key_id, since, until (YYYY-MM-DD, or a date-time
 * YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM], Asia/Tokyo when no offset is
 * given; a '+' sent unescaped arrives as a space and is read as '+'),
 * limit (1-1000, default 100), cursor.  since is inclusive; until is
 * inclusive too: a date covers that whole day, a date-time its
 * millisecond.  The answer, oldest first:
 *
 *   {"items": [{"seq", "time", "key_id", "request_id", "method", "route",
 *               "person_ids": [...], "absent_ids", "status"}],
 *    "next_cursor": string | null}
 *
 * 422 with errors[].code invalid_person_id, invalid_date or invalid_type
 * (key_id, limit, cursor).  The route and the admin role are the
 * router's.
 */
#ifndef SHIKAKU_API_AUDIT_H
#define SHIKAKU_API_AUDIT_H

struct api_ctx;
struct api_response;

struct api_result api_audit_get(const struct api_ctx *ctx);

/* The query parameters api_audit_get takes, for the route table
 * (NULL-terminated, static). */
extern const char *const api_audit_query[];

#endif
