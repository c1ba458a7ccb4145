/* detour: what the files of the config parser share (config.c, the directive
 * groups config_*.c): one directive line split into arguments with their
 * columns, the parser's state, the directive table's entry, and the small
 * helpers every setter uses to report an error at the right column. */
#ifndef DETOUR_CONFIG_ARGS_H
#define DETOUR_CONFIG_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "detour/config_types.h"

#define CONF_MAX_ARGS 8

/* One argument of a directive line: its bytes and its 1-based column. */
struct arg {
	const char *p;
	size_t len;
	unsigned col;
};

struct pstate {
	struct detour_config *c;
	const char *name;
	unsigned line;
	struct detour_diag *d;
	bool listen_seen;
	bool rules_seen;
	char dir[DETOUR_CONF_PATH_MAX]; /* directory of the config file, "" for cwd */
};

typedef detour_err (*conf_setter)(struct pstate *s, const struct arg *a, unsigned n);

/* A directive: its name, how many arguments it takes, its setter, and the
 * usage line its errors quote. Table-driven like nginx's command arrays. */
struct conf_directive {
	const char *name;
	unsigned min_args, max_args;
	conf_setter set;
	const char *usage;
	const char *doc; /* what it does, for detour.conf(5): scdoc markup, '\n'
	                    between lines (detour help --man conf) */
};

/* Sets the diagnostic at column col of the current line: fmt has one %s,
 * filled with p[0..len) (cut at 127 bytes). Returns DETOUR_EINVAL. */
detour_err conf_fail(struct pstate *s, unsigned col, const char *fmt, const char *p, size_t len);

/* Whether the argument is exactly word. */
bool conf_arg_is(const struct arg *a, const char *word);

/* Copies a path argument into dst (DETOUR_CONF_PATH_MAX), resolved
 * against the config file's directory; too long is an error. */
detour_err conf_set_path(struct pstate *s, const struct arg *a, char *dst);

/* Splits a comma list into args with their own columns and calls fn on each;
 * an empty item is an error. */
detour_err conf_each_item(struct pstate *s, const struct arg *v,
                          detour_err (*fn)(struct pstate *s, const struct arg *item));

/* Splits "key=value": the value part as an arg (with its column), or false. */
bool conf_key_value(const struct arg *a, const char *key, struct arg *v);

#endif
