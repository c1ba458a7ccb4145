/* detour server: the fleet's statistics in Redis (`state redis://...`), see
 * docs/internals/fleet.md "Statistics": per-rule hits and requests by
 * status flushed as increments (one script, one round trip each, nothing
 * counted twice), each node's unmatched-path sketch, read back as the
 * fleet's totals or one node's. Shares fleet_store.c's write connection
 * (fleet_store_int.h). */
#ifndef DETOUR_FLEET_STATS_H
#define DETOUR_FLEET_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "publish.h"

struct fleet;

/* Adds the hits counted since the last flush of s to the node's and the
 * fleet's counters (one script, one round trip). */
void fleet_flush_served(struct fleet *f, struct served *s);

struct fleet_stat {
	char *id;
	int64_t hits, last;
};

/* The counters of the fleet (node NULL) or one node, sorted by id. Returns
 * 0, or -1 with err. */
int fleet_stats(struct fleet *f, const char *node, struct fleet_stat **out, size_t *n, char *err,
                size_t cap);
void fleet_stats_free(struct fleet_stat *s, size_t n);

/* The fleet's most hit rules (totals), most hits first, at most limit:
 * state_stats_list's callback. Nothing when Redis does not answer. */
void fleet_stats_top(struct fleet *f, int64_t limit,
                     void (*fn)(void *arg, const char *id, int64_t hits, int64_t last), void *arg);

struct detour_topk;

/* Replaces this node's unmatched-path sketch in Redis by m (PREFIX:topk:NODE,
 * a hash path -> "COUNT ERROR", field "" the total; it expires after ttl_ms
 * without a refresh). */
void fleet_put_topk(struct fleet *f, const struct detour_topk *m, unsigned ttl_ms);

/* Merges the stored sketches of every node (node NULL) or of one into m
 * (detour_topk_merge: counts and errors add up). Returns 0, or -1. */
int fleet_get_topk(struct fleet *f, const char *node, struct detour_topk *m);

/* Adds the requests counted since the last flush (now[k] - flushed[k] for
 * the status named names[k]: "301", "other") to the fleet's and the node's
 * counters (hashes PREFIX:req and PREFIX:req:NODE, name -> count) in one
 * script; flushed[] gets now[] when Redis ran it or its reply is lost
 * (taken as counted: never counted twice). */
void fleet_flush_requests(struct fleet *f, const char *const *names, const uint64_t *now,
                          uint64_t *flushed, unsigned n);

/* The requests of the fleet (node NULL) or one node: out[k] for names[k]
 * (zeroed first). Returns 0, or -1 with err. */
int fleet_requests(struct fleet *f, const char *node, const char *const *names, uint64_t *out,
                   unsigned n, char *err, size_t cap);

#endif
