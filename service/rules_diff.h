/* rules_diff.h - `shikakud rules diff`: who would change answer under a
 * candidate rules file. */
#ifndef SHIKAKU_SERVICE_RULES_DIFF_H
#define SHIKAKU_SERVICE_RULES_DIFF_H

/* argv[0..argc) are the words after "rules diff".  Returns the exit
 * status: 0, 1 (error) or 2 (usage). */
int rules_diff_main(int argc, char *const argv[]);

#endif
