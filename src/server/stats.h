/* detour server: what workers count. Per-rule hits go to the counter rows
 * of the published tables (`struct served`, publish.h); the rest is per
 * worker (`struct wstats`).
 *
 * Counters are written by one worker each and read by the admin thread:
 * relaxed atomic loads and stores, which on x86-64 and arm64 are plain
 * moves (no lock prefix, no fence). Nothing on the request path locks or
 * allocates. See docs/internals/admin.md. */
#ifndef DETOUR_STATS_H
#define DETOUR_STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "detour/config.h"
#include "detour/table.h"
#include "detour/topk.h"
#include "publish.h"

/* The statuses counted one by one; anything else counts as "other". */
#define STATUS_SLOTS 18
extern const int stats_statuses[STATUS_SLOTS - 1];

/* Latency buckets, upper bounds in microseconds; the last bucket is +Inf. */
#define LAT_BUCKETS 14
extern const uint32_t stats_lat_bounds_us[LAT_BUCKETS - 1];

#define TOPK_WORKER 64 /* unmatched paths tracked per worker */

/* Why a connection to a proxy-protocol listener was refused (conn.c). */
enum proxy_err {
	PROXY_ERR_INVALID = 0, /* not a PROXY header, a malformed one, or one over 4 KiB */
	PROXY_ERR_INCOMPLETE,  /* closed or timed out before the header was whole */
	PROXY_ERR_UNTRUSTED,   /* from a peer outside trusted-proxies */
	PROXY_ERR_COUNT
};

/* Per-worker counters, owned by one worker, read by the admin thread. */
#define HIT_RING 256
#define HIT_API  0x80000000u

struct wstats {
	_Atomic uint64_t status[STATUS_SLOTS];
	_Atomic uint64_t listener[DETOUR_CONF_MAX_LISTEN];
	_Atomic uint64_t h2_requests; /* of those counted in status[], over HTTP/2 */
	_Atomic uint64_t lat[LAT_BUCKETS];
	_Atomic uint64_t lat_sum_us;
	_Atomic uint64_t lat_count;
	_Atomic uint32_t conns; /* open connections, stored once per loop iteration */
	_Atomic uint64_t proxy_errors[PROXY_ERR_COUNT]; /* proxy-protocol refusals, by reason */
	_Atomic uint64_t shed_memory;   /* connections closed over `limit buffer-memory` */
	_Atomic uint64_t buf_held;      /* connection buffer bytes beyond the initial sizes */
	_Atomic uint64_t paused_memory; /* reads paused over `limit buffer-memory` (budget.h) */
	_Atomic uint64_t paused;        /* connections paused now */
	bool enabled;                   /* `stats on`: per-rule hits, unmatched paths, latency */
	/* Unmatched paths: only the worker touches topk; on request
	 * (srv->topk_gen) it copies it to snap and acknowledges. */
	struct detour_topk topk;
	struct detour_topk_entry topk_e[TOPK_WORKER];
	/* Per-rule hits of this loop iteration, applied by stats_drain() at
	 * its end (see stats_hit). The top bit marks a rule of the API table. */
	uint32_t ring[HIT_RING];
	unsigned ring_n;
	struct detour_topk_entry snap_e[TOPK_WORKER];
	unsigned snap_n;
	uint64_t snap_total;
	unsigned topk_seen;
	atomic_uint topk_ack;
};

static inline void stats_add64(_Atomic uint64_t *p, uint64_t n)
{
	atomic_store_explicit(p, atomic_load_explicit(p, memory_order_relaxed) + n,
	                      memory_order_relaxed);
}

static inline unsigned stats_status_slot(int status)
{
	switch (status) {
	case 301:
		return 0;
	case 302:
		return 1;
	case 303:
		return 2;
	case 307:
		return 3;
	case 308:
		return 4;
	case 400:
		return 5;
	case 404:
		return 6;
	case 408:
		return 7;
	case 410:
		return 8;
	case 413:
		return 9;
	case 414:
		return 10;
	case 431:
		return 11;
	case 500:
		return 12;
	case 501:
		return 13;
	case 505:
		return 14;
	case 200:
		return 15;
	case 503: /* maintenance's page */
		return 16;
	default:
		return STATUS_SLOTS - 1;
	}
}

/* A request answered: status and listener counters. */
static inline void stats_request(struct wstats *st, int status, unsigned listener)
{
	stats_add64(&st->status[stats_status_slot(status)], 1);
	stats_add64(&st->listener[listener], 1);
}

/* Applies the hits queued in st->ring to the counters of the tables the
 * worker holds in this loop iteration (file, api), with a prefetch pass first
 * so the cache misses of a batch overlap, marks each rule in the worker's
 * bitmap of the period loaded with the tables (struct view, served_collect), and empties the ring.
 * The worker calls it at the end of every loop iteration, before it may load newer tables, and when
 * the ring is full. */
void stats_drain(struct wstats *st, const struct view *v, unsigned wid, uint32_t now);

/* A rule answered. Counting it in place would cost a cache miss per request
 * on a large table (the counters of a million rules do not stay in cache):
 * queue its index instead, a sequential store, and let stats_drain() apply a
 * whole batch with its misses overlapped. */
static inline void stats_hit(struct wstats *st, const struct view *v, bool is_api, unsigned wid,
                             uint32_t index, uint32_t now)
{
	st->ring[st->ring_n++] = index | (is_api ? HIT_API : 0u);
	if (st->ring_n == HIT_RING)
		stats_drain(st, v, wid, now);
}

/* The rules a flush writes: those of s->pending (served_collect) whose hits
 * moved since they were last written, in table order (consecutive ids share
 * their file name), each with its counters, flushed mark and rule
 * prefetched SERVED_PREFETCH_AHEAD rules ahead. The flusher marks what it
 * wrote (s->flushed[index] = sum) and clears s->pending once written. */
struct served_deltas {
	struct served *s;
	uint32_t *list; /* served_pending's */
	size_t n, j;
};

struct served_delta {
	size_t index;
	uint32_t sum;   /* the rule's hits over the workers, modulo 2^32 */
	uint32_t delta; /* sum - s->flushed[index], modulo 2^32: not 0 */
	uint32_t last;  /* the latest of its last-hit times */
};

/* Starts the walk; -1 when out of memory (pending stays for the next flush). */
int served_deltas_begin(struct served_deltas *it, struct served *s);

/* The next rule to write into *d; false at the end. */
bool served_next_delta(struct served_deltas *it, struct served_delta *d);

/* Ends the walk (frees the list). */
void served_deltas_end(struct served_deltas *it);

/* n requests took us microseconds each, from parsing to the response queued. */
void stats_latency(struct wstats *st, uint64_t us, unsigned n);

/* Snapshot handshake for the unmatched-path sketch (worker side): called at
 * the top of each loop iteration with the current request generation. */
void stats_topk_snapshot(struct wstats *st, unsigned gen);

#endif
