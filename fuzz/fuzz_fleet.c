/* libFuzzer target for lib/fleet.c: the `state` URL and the Redis encoding
 * of rules and maintenance. Asserts invariants, not only "no crash":
 *  - an accepted URL has 1 to 8 hosts with ports 1..65535, NUL-terminated
 *    fields, one host unless sentinel, a primary name with sentinel, a
 *    tls-name only over TLS (rediss://, rediss-sentinel://);
 *  - a decoded rule's or maintenance's pointers lie inside the input, and a
 *    decoded value encodes back to the same bytes. */
#include "fuzz.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detour/fleet.h"

static bool inside(const char *p, size_t n, const char *base, size_t size)
{
	return p >= base && p + n <= base + size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	struct detour_fleet_url u;
	char err[400];

	if (detour_fleet_url_parse(d, size, &u, err, sizeof(err)) == DETOUR_OK) {
		CHECK(u.nhosts >= 1 && u.nhosts <= DETOUR_FLEET_HOSTS_MAX);
		CHECK(u.sentinel || u.nhosts == 1);
		CHECK(!u.sentinel || u.name[0]);
		for (unsigned i = 0; i < u.nhosts; i++)
			CHECK(u.hosts[i].port >= 1 && u.hosts[i].port <= 65535 &&
			      memchr(u.hosts[i].host, 0, sizeof(u.hosts[i].host)));
		CHECK(memchr(u.password, 0, sizeof(u.password)) &&
		      memchr(u.user, 0, sizeof(u.user)));
		CHECK(u.timeout_ms >= 50 && u.timeout_ms <= 60000 && u.prefix[0]);
		/* tls-name= only with TLS, a name or an address without a port */
		CHECK(memchr(u.tls_name, 0, sizeof(u.tls_name)) && (u.tls || !u.tls_name[0]) &&
		      !strchr(u.tls_name, ':') && !strchr(u.tls_name, '/'));
	} else {
		CHECK(err[0] != '\0');
	}

	struct detour_fleet_rule r;
	if (detour_fleet_rule_decode(d, size, &r) == DETOUR_OK) {
		CHECK(inside(r.who, r.who_len, d, size) && inside(r.line, r.line_len, d, size));
		char *who = strndup(r.who, r.who_len), *line = strndup(r.line, r.line_len);
		size_t cap = size + 64;
		char *out = malloc(cap), *full = malloc(cap + 32);
		if (who && line && out && full && strlen(who) == r.who_len &&
		    strlen(line) == r.line_len) {
			int n = detour_fleet_rule_tail(out, cap, r.created, r.expires, who, line);
			CHECK(n > 0);
			int m = snprintf(full, cap + 32, "%lld\n%s", (long long)r.n, out);
			struct detour_fleet_rule r2;
			CHECK(m > 0 && detour_fleet_rule_decode(full, (size_t)m, &r2) == DETOUR_OK);
			CHECK(r2.n == r.n && r2.created == r.created && r2.expires == r.expires &&
			      r2.who_len == r.who_len && r2.line_len == r.line_len &&
			      !memcmp(r2.line, r.line, r.line_len) &&
			      !memcmp(r2.who, r.who, r.who_len));
		}
		free(who);
		free(line);
		free(out);
		free(full);
	}

	struct detour_fleet_maint m;
	if (detour_fleet_maint_decode(d, size, &m) == DETOUR_OK) {
		CHECK(inside(m.who, m.who_len, d, size) &&
		      inside(m.target, m.target_len, d, size) &&
		      inside(m.allow, m.allow_len, d, size));
		CHECK(m.status >= 0 && m.status <= 999 && m.since >= 0 && m.until >= 0);
		char *out = malloc(size + 64);
		if (out) {
			int n = detour_fleet_maint_encode(out, size + 64, &m);
			CHECK(n > 0);
			struct detour_fleet_maint m2;
			CHECK(detour_fleet_maint_decode(out, (size_t)n, &m2) == DETOUR_OK);
			CHECK(m2.on == m.on && m2.status == m.status && m2.since == m.since &&
			      m2.until == m.until && m2.who_len == m.who_len &&
			      m2.target_len == m.target_len && m2.allow_len == m.allow_len &&
			      !memcmp(m2.allow, m.allow, m.allow_len));
			free(out);
		}
	}
	return 0;
}
