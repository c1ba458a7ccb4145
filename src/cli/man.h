/* detour command line: `detour help --man TOPIC`, the generated parts of
 * the man pages (docs/man/NAME.scd) in scdoc, from the tables the parsers read:
 * the OPTIONS of each subcommand (cli_opts.h), the directives of
 * detour.conf(5) (lib/config.c) and the rule options of detour-rules(5)
 * (lib/ruleopts.c). scripts/mansync.py puts them between the "; generated"
 * markers of the pages; `make test` fails when a page differs. */
#ifndef DETOUR_MAN_H
#define DETOUR_MAN_H

#include <stdio.h>

/* Writes TOPIC's section body to f: serve, explain, check, lint, ctl, conf
 * or rules. Returns 0, or 2 (with a message) for an unknown topic. */
int man_topic(const char *topic, FILE *f);

#endif
