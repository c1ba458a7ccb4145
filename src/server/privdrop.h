/* detour server: the privilege drop of `user NAME`. Resolved before
 * anything is opened; the state is opened with the user's effective ids
 * (admin.c), and the real drop (setgroups, setgid, setuid) happens after
 * every socket is bound and before any thread but the main one starts
 * (server.c, "before the drop"). */
#ifndef DETOUR_PRIVDROP_H
#define DETOUR_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "detour/config.h"

struct privdrop {
	bool active;
	uid_t uid;
	gid_t gid;
	char user[64];
};

/* Resolves conf->user. Returns 0, or -1 with err (unknown user, not root). */
int privdrop_prepare(const struct detour_config *conf, struct privdrop *p, char *err, size_t cap);

/* Drops to p's user for good and checks that root cannot be regained.
 * Returns 0 or -1 with err. */
int privdrop_finish(const struct privdrop *p, char *err, size_t cap);

#endif
