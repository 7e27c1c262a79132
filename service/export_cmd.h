/* export_cmd.h - `shikakud export`: the stored persons or insurers as
 * NDJSON that `shikakud import` and POST /v1/{persons,insurers}:import
 * read (moving a store: README "Scaling out").
 *
 *   export --db DB [--insurers] [--facility ID] [--output FILE]
 *
 * --db defaults to $SHIKAKU_DB.  --help.
 */
#ifndef SHIKAKU_SERVICE_EXPORT_CMD_H
#define SHIKAKU_SERVICE_EXPORT_CMD_H

/* argv[0] is the first word after "export".  Returns the exit status: 0,
 * 1 (error), 2 (usage). */
int export_cmd_main(int argc, char *const argv[]);

#endif
