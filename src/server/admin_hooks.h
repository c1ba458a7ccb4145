/* detour server: what the admin thread calls above itself, registered by
 * server.c through admin_prepare (admin.h). A header of its own so that the
 * admin's shared data (admin_data.h) holds a copy without including admin.h,
 * whose admin.c includes the headers of every admin file. */
#ifndef DETOUR_ADMIN_HOOKS_H
#define DETOUR_ADMIN_HOOKS_H

#include <stddef.h>

struct admin_hooks {
	/* POST /reload: re-reads the configuration and the rules files and
	 * publishes them. Returns 0, or -1 with the reason in err (the old
	 * ones keep serving). */
	int (*reload)(void *arg, char *err, size_t cap);
	void *arg;
};

#endif
