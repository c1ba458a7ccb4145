/* detour server: maintenance mode, one state for the whole server.
 *
 * Four things change it, and the latest change wins (docs/config.md):
 *   - the config: the `maintenance` directive, at start and at a reload that
 *     changes that line;
 *   - the file of `file=PATH` appearing or disappearing (the main thread
 *     looks about once a second; nothing on the request path);
 *   - SIGUSR2, which toggles it;
 *   - the admin API (POST /maintenance), which is stored in the state and
 *     applies again after a restart.
 *
 * Workers see a `struct maint` published by publish_maint() (NULL while off)
 * with the same generation scheme as the rule tables (publish.h): they load
 * the pointer at the top of each loop iteration and never hold it across.
 *
 * The controller (`struct maint_ctl`) belongs to the server (maint_new);
 * it calls nothing above it: a change by the config, the file or SIGUSR2
 * is handed to the recorder the admin registers (maint_set_recorder), which
 * stores it in the state. */
#ifndef DETOUR_MAINT_H
#define DETOUR_MAINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detour/config.h"
#include "detour/respond.h"
#include "detour/table.h"
#include "detour/table_match.h"

struct publish;
struct maint_ctl;

/* What maintenance answers with; the config directive's fields without its
 * line, on/off and file. */
struct maint_params {
	char target[DETOUR_CONF_MAINT_TARGET_MAX]; /* a path, an absolute URL, or "-" (503) */
	int status;                                /* 302, 303, 307, or 503 (with target "-") */
	char retry_after[32];            /* the header value, "" = none; only on the 503 answers */
	char page[DETOUR_CONF_PATH_MAX]; /* the page file, "" = none (503: the built-in page) */
	struct cidr allow_ip[DETOUR_CONF_MAX_CIDRS];
	unsigned nallow_ip;
	char allow_path[DETOUR_CONF_MAINT_ALLOW_MAX]; /* sources, each ended by '\n' */
};

/* The bytes of a page file, read once: at start, at a reload, at an API
 * change; never on the request path. */
struct maint_page;

/* Reads the page file path ("" = none: *out NULL) whole. Returns 0, or -1
 * with err naming the file: missing or unreadable, not a regular file, over
 * DETOUR_PAGE_MAX (respond.h). */
int maint_page_read(const char *path, struct maint_page **out, char *err, size_t cap);

/* NULL is a no-op. */
void maint_page_free(struct maint_page *pg);

/* The page answer of maintenance when no page= names a file. */
extern const char maint_default_page[];

/* Published, immutable while any worker may see it. */
struct maint {
	/* A redirect: one rule "/ * TARGET STATUS cache=no-store"; a 503:
	 * "/ * - 410", which only matches (the page answers). */
	struct detour_table *target;
	struct detour_table *at;    /* a local TARGET with page=: its path, or NULL */
	struct detour_table *allow; /* the allow-path sources (and a local target), or NULL */
	struct cidr allow_ip[DETOUR_CONF_MAX_CIDRS];
	unsigned nallow_ip;
	bool all_page;           /* 503: every request not allowed gets the page */
	struct detour_page page; /* 503 + Retry-After + the page; buf NULL without one */
};

/* What maintenance does with a request. */
enum maint_answer {
	MAINT_PASS = 0, /* not for maintenance: the normal rules */
	MAINT_REDIRECT, /* the maintenance redirect (m) */
	MAINT_PAGE,     /* the page (mt->page) */
};

enum maint_source { MAINT_NONE = 0, MAINT_CONFIG, MAINT_FILE, MAINT_SIGNAL, MAINT_API };

/* A snapshot of the state, for the API, /healthz and the metrics. */
struct maint_status {
	bool on;
	enum maint_source source; /* what made the latest change */
	struct maint_params p;    /* meaningful when on */
	int64_t since, until;     /* Unix seconds; until: API ttl/until, 0 = none */
	char who[64];             /* token name for the API, else "config", "file", "signal" */
};

extern const char *const maint_source_names[];

/* Request path: what maintenance does with q. The page's own path (a local
 * target with page=) gets the page, whoever asks; else a client whose address
 * is allowed, or a path that matches an allow-path source, passes; else the
 * redirect or, for a 503, the page. Fills m with the rule that matched. peer
 * may be NULL (never allowed by address). */
static inline enum maint_answer maint_match(const struct maint *mt,
                                            const struct detour_match_req *q,
                                            const struct sockaddr *peer, struct detour_match *m)
{
	if (mt->at && detour_table_match(mt->at, q, m))
		return MAINT_PAGE;
	for (unsigned i = 0; i < mt->nallow_ip; i++)
		if (cidr_match(&mt->allow_ip[i], peer))
			return MAINT_PASS;
	if (mt->allow && detour_table_match(mt->allow, q, m))
		return MAINT_PASS;
	if (!detour_table_match(mt->target, q, m))
		return MAINT_PASS;
	return mt->all_page ? MAINT_PAGE : MAINT_REDIRECT;
}

/* A controller that publishes through pub (borrowed: it outlives the
 * controller), maintenance off. NULL when out of memory. */
struct maint_ctl *maint_new(struct publish *pub);

/* record(arg, st) is called after every change by the config, the file or
 * SIGUSR2 (outside the controller's lock; not for the API's own changes):
 * such a change supersedes what the API stored. NULL: none. Set it while no
 * other thread changes maintenance. */
void maint_set_recorder(struct maint_ctl *mc,
                        void (*record)(void *arg, const struct maint_status *st), void *arg);

/* Start-up, before the workers: the config's directive cm and its file's
 * presence, then the state stored by the API (api_on/api: from the admin's
 * state, api_set false when nothing is stored). Reads the pages they name.
 * Returns 0 or -1 with err. */
int maint_init(struct maint_ctl *mc, const struct detour_conf_maint *cm, bool api_set, bool api_on,
               const struct maint_params *api, int64_t api_since, int64_t api_until,
               const char *api_who, char *err, size_t cap);

/* Reload: the new config's directive and its page, read by the caller
 * (maint_page_read, so that a missing page fails the whole reload; owned by
 * mc from here). A changed directive is a change (it wins over SIGUSR2 and
 * the API); an unchanged one keeps the current state, but a state made of
 * the config's parameters takes the page's new bytes. */
void maint_reload(struct maint_ctl *mc, const struct detour_conf_maint *cm,
                  struct maint_page *page);

/* Main thread, about once a second: a change of the file's presence. */
void maint_poll_file(struct maint_ctl *mc);

/* SIGUSR2. */
void maint_toggle(struct maint_ctl *mc);

/* The parameters "maintenance on" uses when it names none: the config's
 * maintenance directive, else the ones the API used last. Returns false when
 * there are neither. */
bool maint_defaults(struct maint_ctl *mc, struct maint_params *p);

/* The admin API (already stored by the caller). on false: off. until 0: no
 * end. page: p->page's bytes (maint_page_read), owned by mc from here, NULL
 * when p names none. Returns 0, or -1 with err when p does not build (a bad
 * source). */
int maint_api_set(struct maint_ctl *mc, bool on, const struct maint_params *p,
                  struct maint_page *page, int64_t until, const char *who, char *err, size_t cap);

/* The API's `until` ran out: back to what the config and the file say. */
void maint_api_expired(struct maint_ctl *mc);

/* Validates p alone with its page (borrowed; NULL: none) (builds its
 * tables): 0, or -1 with err. */
int maint_check(const struct maint_params *p, const struct maint_page *page, char *err, size_t cap);

void maint_get(struct maint_ctl *mc, struct maint_status *out);

/* Exit: frees the published state and mc. Workers have stopped. NULL is a
 * no-op. */
void maint_fini(struct maint_ctl *mc);

#endif
