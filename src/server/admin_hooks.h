/* detour server: what the admin thread calls above itself, registered by
 * server.c through admin_prepare (admin.h). A header of its own so that the
 * admin's shared data (admin_data.h) holds a copy without including admin.h,
 * whose admin.c includes the headers of every admin file. */
#ifndef DETOUR_ADMIN_HOOKS_H
#define DETOUR_ADMIN_HOOKS_H

#include <stddef.h>

#include "reloader.h"

struct admin_hooks {
	/* POST /reload: asks for a reload of the configuration and the rules
	 * files (reloader.h); w is answered when it is done (rc 0, or -1 with
	 * the reason: the old ones keep serving), from another thread, with
	 * w->wake(w->arg). */
	void (*reload)(void *arg, struct reload_wait *w);
	/* w is not waited for any more (its connection closed). */
	void (*reload_forget)(void *arg, struct reload_wait *w);
	void *arg;
};

#endif
