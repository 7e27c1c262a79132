/* key_cmd.h - `shikakud key create|list|revoke` (SPEC §8, §9).
 *
 *   key create --db FILE --role reader|writer|admin [--facility ID]
 *              [--name TEXT]
 *       prints the new key alone on the first line of stdout (the only
 *       time it is ever shown), then its id, role and facility on stderr.
 *   key list --db FILE
 *       a table of id, role, facility, name, created, revoked: never a
 *       key nor a hash.
 *   key revoke --db FILE ID
 *       effective at once, also for a running server (each request looks
 *       its key up).
 *
 * --db defaults to $SHIKAKU_DB.  --help on each.
 */
#ifndef SHIKAKU_SERVICE_KEY_CMD_H
#define SHIKAKU_SERVICE_KEY_CMD_H

/* argv[0] is "key".  Returns the exit status: 0, 1 (error), 2 (usage). */
int key_cmd_main(int argc, char *const argv[]);

#endif
