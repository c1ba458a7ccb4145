/* detour check: the transfers of a run, on one libcurl multi handle. */
#ifndef DETOUR_CLI_CHECK_FETCH_H
#define DETOUR_CLI_CHECK_FETCH_H

#include "check_util.h"

/* Runs every chain (at most o->parallel at once), printing each in input
 * order as soon as it and those before it are done (check_out.c). Returns
 * the exit status. */
int check_run(struct check_opts *o, struct chain *chains, size_t n);

/* A run fed from outside (detour crawl): chains are asked for while fewer
 * than o->parallel run, and handed back as each ends. */
struct check_feed {
	void *ud;
	/* The next chain to start (its url set, the rest zeroed; it stays the
	 * feed's), or NULL: none now; then *wait_ms > 0 asks again within that
	 * many milliseconds, 0 means none until a running chain ends. */
	struct chain *(*next)(void *ud, int *wait_ms);
	/* c has ended: hops and findings filled in, and with o->page_cap the
	 * last response's body in c->page and its type in c->page_type. The
	 * feed owns c and may free it with check_chain_free. */
	void (*done)(void *ud, struct chain *c);
	/* Called once per turn of the loop (a progress line), or NULL. */
	void (*tick)(void *ud);
};

/* Runs chains from feed until it has none and none is running. Returns the
 * exit status (as check_run; nothing is printed). */
int check_run_feed(struct check_opts *o, const struct check_feed *feed);

#endif
