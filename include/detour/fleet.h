/* detour: the pure parts of the Redis fleet (docs/internals/fleet.md): the
 * `state` URL of detour.conf and the encoding of API rules and maintenance
 * as Redis values. No sockets here: src/server/fleet*.c talks to Redis. */
#ifndef DETOUR_FLEET_H
#define DETOUR_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detour/common.h"

#define DETOUR_FLEET_HOSTS_MAX 8

struct detour_fleet_host {
	char host[256]; /* a name or an address, IPv6 without brackets */
	unsigned port;
};

/* state redis://[user:password@]host:port/db[?query]
 * state redis-sentinel://[user:password@]host:port,host:port/name[?query]
 * rediss:// and rediss-sentinel://: the same over TLS (to the sentinels too).
 * query: replicas=N (WAIT N before an answer; sentinel default 1, else 0),
 *        timeout=MS (a change's deadline, 50 to 60000, default 2000),
 *        prefix=P (key prefix, default "detour"), db=N (sentinel),
 *        tls-name=NAME (TLS: the name or address every certificate must
 *        carry, instead of the host connected to). */
struct detour_fleet_url {
	bool sentinel;
	bool tls;
	char tls_name[256]; /* "" = the host connected to */
	struct detour_fleet_host hosts[DETOUR_FLEET_HOSTS_MAX];
	unsigned nhosts;
	char user[128];     /* "" = none (AUTH password alone when password is set) */
	char password[256]; /* "" = no AUTH */
	unsigned db;
	char name[128]; /* sentinel: the primary's name */
	unsigned replicas;
	unsigned timeout_ms;
	char prefix[64];
};

/* Parses s[0..len). Returns DETOUR_OK, or DETOUR_EINVAL with the reason in
 * err. */
detour_err detour_fleet_url_parse(const char *s, size_t len, struct detour_fleet_url *u, char *err,
                                  size_t cap);

/* An API rule as stored in the rules hash (field: its id):
 * "N\nCREATED\nEXPIRES\nWHO\nLINE". The Lua script of a change puts "N\n"
 * in front of the tail the node sends (the id counter is Redis's). */
struct detour_fleet_rule {
	int64_t n, created, expires;
	const char *who; /* into the decoded value, not NUL-terminated */
	size_t who_len;
	const char *line;
	size_t line_len;
};

/* Writes the tail "CREATED\nEXPIRES\nWHO\nLINE" (NUL-terminated). Returns
 * its length, or -1 when it does not fit or who or line holds '\n'. */
int detour_fleet_rule_tail(char *out, size_t cap, int64_t created, int64_t expires, const char *who,
                           const char *line);

/* Parses a whole stored value. DETOUR_OK or DETOUR_EINVAL. */
detour_err detour_fleet_rule_decode(const char *p, size_t len, struct detour_fleet_rule *r);

/* Maintenance as stored: "ON\nSTATUS\nSINCE\nUNTIL\nWHO\nTARGET\nALLOW"
 * (ALLOW, last, is '\n'-separated lines itself). */
struct detour_fleet_maint {
	bool on;
	int status;
	int64_t since, until;
	const char *who, *target, *allow; /* into the value */
	size_t who_len, target_len, allow_len;
};

int detour_fleet_maint_encode(char *out, size_t cap, const struct detour_fleet_maint *m);
detour_err detour_fleet_maint_decode(const char *p, size_t len, struct detour_fleet_maint *m);

/* The "v" of a stream entry or a version counter: digits only. Returns -1
 * when p is not a decimal int64 >= 0. */
int64_t detour_fleet_int(const char *p, size_t len);

#endif
