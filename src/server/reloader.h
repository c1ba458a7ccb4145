/* detour server: the reload thread. SIGHUP (the main thread) and POST
 * /reload (the admin thread) only ask for a reload; this thread builds the
 * new table (reading the rules files, compiling the regex index: up to a
 * minute for 10,000 regexes without the cache) and publishes it, so that
 * neither the signals nor the admin API wait for a compile.
 *
 * Requests made while a reload runs are coalesced into the next one, which
 * starts when the running one ends and reads the files as they are then;
 * every request is answered by a reload that started after it was made.
 * Stopping (SIGTERM) abandons a reload that is still building: nothing of it
 * is published, and the thread, which cannot interrupt vectorscan's
 * compile, is left to finish it alone and discard it (reloader_finish says
 * whether it did). A reload that is publishing is waited for (a swap under
 * the file lock: milliseconds). See docs/internals/server.md, "Reload". */
#ifndef DETOUR_RELOADER_H
#define DETOUR_RELOADER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One requester waiting for the answer (POST /reload: embedded in the
 * admin's connection). The reloader fills rc, err and nrules, sets done
 * (release) and calls wake(arg) from its thread; the requester reads done
 * (acquire) and then the rest. */
struct reload_wait {
	struct reload_wait *next; /* the reloader's list */
	uint64_t ticket;          /* the number of the reload that answers it */
	int rc;                   /* 0, or -1 with err */
	size_t nrules;            /* file rules served after it */
	char err[1024];
	atomic_bool done;
	void (*wake)(void *arg);
	void *arg;
};

/* What a reload does, registered by server.c. Every function is called on
 * the reload thread. */
struct reload_ops {
	void *arg;
	/* Under the reloader's lock: a job holding copies of everything the
	 * build reads (a stop may come and the server go while it builds), or
	 * NULL when out of memory. */
	void *(*prepare)(void *arg);
	/* The build: reads only the job. 0, or -1 with err (logged by it). */
	int (*build)(void *job, char *err, size_t cap);
	/* Publishes a built job (frees it). 0, or -1 with err; *nrules: the
	 * file rules served now. */
	int (*publish)(void *arg, void *job, char *err, size_t cap, size_t *nrules);
	/* Frees a job that is not published (failed, or abandoned). */
	void (*discard)(void *job);
	/* Once per reload that ran to its end: 0 or -1 (the counters). */
	void (*counted)(void *arg, int rc);
};

struct reloader;

/* Starts the thread. NULL with err. ops is copied. */
struct reloader *reloader_start(const struct reload_ops *ops, char *err, size_t cap);

/* Asks for a reload; w (NULL: nobody waits, SIGHUP) is answered when the
 * reload that serves it ends. Any thread. After reloader_stop: w is
 * answered at once, rc -1 ("the server is stopping"). */
void reloader_request(struct reloader *r, struct reload_wait *w);

/* w is not waited for any more (its connection closed): it is not
 * touched after this returns. */
void reloader_forget(struct reloader *r, struct reload_wait *w);

/* SIGTERM: no reload starts any more, a building one is abandoned (never
 * published), a publishing one is waited for; waiters are let go without
 * an answer (reloader_forget semantics). Returns true when a build was
 * abandoned. */
bool reloader_stop(struct reloader *r);

/* After everything else stopped: waits up to wait_ms for the thread to
 * end, then joins and frees. Returns false when it still runs (an
 * abandoned compile): r is then left, and the process must end with
 * _exit, without the destructors of the libraries that thread uses. */
bool reloader_finish(struct reloader *r, unsigned wait_ms);

#endif
