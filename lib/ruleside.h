/* detour (private to lib/): what a ruleset keeps beside its 32-byte rules
 * (rule.h): each rule's line, file and host, and the id= values. Only
 * lint, explain, logging, export and the admin API read these, so they stay
 * out of the array that matching walks:
 *
 *   lines   runs of rules on consecutive lines of one file: (first rule,
 *           its line, file), a new run whenever the file changes or a
 *           rule is not on the line after the previous rule's (a blank or
 *           comment line between them); a generated file of a million
 *           rules is one run, the worst case 12 bytes a rule
 *   hosts   interned (name, wildcard) pairs, number 0 = any host; one
 *           uint32_t a rule, allocated only once some rule names a host
 *   ids     (rule, id=) for the rules that have one, in rule order, and a
 *           hash of them by value for the duplicate check
 *
 * Rules are added in order (rule i after rule i - 1). Strings are borrowed:
 * they live in the ruleset's arena. */
#ifndef DETOUR_RULESIDE_H
#define DETOUR_RULESIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RSIDE_NONE UINT32_MAX

struct rside_host {
	const char *name; /* lower case, NUL-terminated; "" for host 0 */
	uint32_t len;
	bool wild; /* "*.example.com": name holds ".example.com" */
};

struct rside_id {
	uint32_t rule;
	uint32_t len;
	const char *s; /* NUL-terminated */
};

struct rside_run {
	uint32_t first; /* first rule of the run */
	uint32_t line;  /* its line; rule first + k is on line + k */
	uint32_t file;
};

struct rside {
	uint32_t n; /* rules recorded */
	struct rside_run *runs;
	size_t nruns, runs_cap;
	uint32_t *rhost; /* host number of rule i; NULL while every rule has host 0 */
	size_t rhost_cap;
	struct rside_host *hosts; /* hosts[0]: "" (any host) once a host is interned */
	uint32_t nhosts;
	size_t hosts_cap;
	uint32_t *hslots; /* host number + 1, open addressing */
	size_t hmask;
	struct rside_id *ids;
	size_t nids, ids_cap;
	uint32_t *islots; /* index in ids + 1, open addressing */
	size_t imask;
};

/* Frees what s holds (not s). */
void rside_fini(struct rside *s);

/* The number of host (name[0..len), wild), interned when new (name is kept,
 * not copied). Returns 0 for the empty host, RSIDE_NONE when out of
 * memory. */
uint32_t rside_host_intern(struct rside *s, const char *name, size_t len, bool wild);

/* The rule id= value id[0..len) belongs to, RSIDE_NONE when none. */
uint32_t rside_id_find(const struct rside *s, const char *id, size_t len);

/* Records rule s->n: its line, file, host number (rside_host_intern) and
 * id= value (NULL when none; the caller checked it is not taken). Returns 0,
 * or -1 when out of memory (s unchanged). */
int rside_add(struct rside *s, unsigned line, unsigned file, uint32_t host, const char *id,
              size_t id_len);

/* Rule i's line, 0 when i was not recorded. */
uint32_t rside_line(const struct rside *s, uint32_t i);

/* Rule i's file, 0 when i was not recorded. */
uint32_t rside_file(const struct rside *s, uint32_t i);

/* Rule i's host number, 0 (any host) when none or not recorded. */
uint32_t rside_host_of(const struct rside *s, uint32_t i);

/* Host number h; host 0 ("") for a number out of range. */
struct rside_host rside_host(const struct rside *s, uint32_t h);

/* Rule i's id= value (*len its length), "" when it has none. */
const char *rside_id(const struct rside *s, uint32_t i, size_t *len);

#endif
