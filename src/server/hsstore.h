/* detour server: the files of the regex database cache (detour/hscache.h's
 * hooks), under STATE-DIR/hs-cache/:
 *     KEY.hsdb      one entry per set of patterns (KEY: the SHA-256 in hex)
 * written atomically (acme_store_write: a temporary file, fsync, rename),
 * mode 0600; after each store only the HSSTORE_KEEP entries used last
 * (mtime, refreshed by every load) stay. Started as root with `user`, the
 * files are made with the user's effective ids, as the state is (admin.c).
 * See docs/internals/table.md, "The database cache". */
#ifndef DETOUR_HSSTORE_H
#define DETOUR_HSSTORE_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "detour/config.h"
#include "detour/hscache.h"

/* Entries kept: the current rules, and a few earlier sets (a reload back to
 * yesterday's rules, blue/green files) without compiling again. */
#define HSSTORE_KEEP 4

/* Entries are at most this large (a 100,000-pattern database is ~64 MiB). */
#define HSSTORE_MAX ((size_t)1 << 30)

/* While vectorscan compiles (one call, seconds to minutes), a thread says
 * every HSSTORE_TICK_MS that it still does: "regex index: still compiling
 * (20.0 s)". The environment's DETOUR_HS_TICK_MS replaces it (tests). */
#define HSSTORE_TICK_MS 10000

struct hsstore {
	char state[DETOUR_CONF_PATH_MAX];
	char dir[DETOUR_CONF_PATH_MAX + 16];
	bool as_user; /* root now, `user` later: switch effective ids around file I/O */
	uid_t uid;
	gid_t gid;
	struct detour_hscache io;
	/* The progress ticker, between the notes COMPILING and COMPILED. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t ticker;
	bool ticking, stop;
	unsigned tick_ms;
};

/* The hooks for conf's state directory, in s (which must outlive the
 * build), or NULL when conf has no state directory (nothing to fini then). */
const struct detour_hscache *hsstore_init(struct hsstore *s, const struct detour_config *conf);

/* After the build: what hsstore_init set up. */
void hsstore_fini(struct hsstore *s);

#endif
