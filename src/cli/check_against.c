/* detour check --against BASEURL RULES: for every rule of a rules file,
 * build a request that the rule's source matches (its first example: the
 * exact path, a splat filled with "example", each :name placeholder filled
 * with its own name), send it to the server at BASEURL (connecting there
 * whatever host the rule names), and compare the status and Location of the
 * first response with what the compiled table predicts for that request, as
 * `detour explain` does. A rule shadowed by an earlier one is predicted by
 * the earlier one. Regex rules, and rules for the other scheme than
 * BASEURL's, are skipped with a note on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_against.h"
#include "check_util.h"
#include "detour/respond.h"
#include "detour/rulefile.h"
#include "detour/rules_load.h"
#include "detour/table.h"
#include "detour/table_match.h"
#include "detour/url.h"

/* The example path of rule r into out. */
static void example_path(const struct detour_ruleset *rs, const struct detour_rule *r, char *out,
                         size_t cap)
{
	size_t o = 0;
	const char *p = detour_rule_path(rs, r);
	size_t n = r->path_len;
	for (size_t i = 0; i < n && o + 16 < cap;) {
		if (r->kind == DETOUR_SRC_PATTERN && p[i] == ':' && i > 0 && p[i - 1] == '/') {
			/* ":name" -> "name" */
			i++;
			while (i < n && p[i] != '/' && o + 1 < cap)
				out[o++] = p[i++];
		} else if (r->kind == DETOUR_SRC_PATTERN && p[i] == '*' && i + 1 == n) {
			memcpy(out + o, "example", 7);
			o += 7;
			i++;
		} else {
			out[o++] = p[i++];
		}
	}
	if (r->kind == DETOUR_SRC_SPLAT && o + 8 < cap) {
		memcpy(out + o, "example", 7);
		o += 7;
	}
	out[o] = 0;
}

int check_against(struct check_opts *o, const char *base, const char *rules, struct chain **chains,
                  size_t *n)
{
	char bu[DETOUR_FOLLOW_URL_MAX];
	size_t bl;
	unsigned fl;
	if (detour_location_resolve(DETOUR_AS_BROWSER, NULL, 0, base, strlen(base), bu, sizeof(bu),
	                            &bl, &fl) != DETOUR_OK) {
		fprintf(stderr, "detour check: --against needs an http(s) base URL, not '%s'\n",
		        base);
		return 2;
	}
	struct detour_url bp;
	/* The base is canonical: scheme://host[:port]/... */
	if (detour_url_parse(bu, bl, &bp) != DETOUR_OK || !bp.host.p) {
		fprintf(stderr, "detour check: cannot use '%s' as a base URL\n", base);
		return 2;
	}
	bool https = bp.scheme.len == 5;
	int port = bp.port_num > 0 ? bp.port_num : (https ? 443 : 80);
	struct detour_diag d = {0};
	char msg[512];
	struct detour_table *t;
	if (detour_rules_load(&rules, 1, &t, &d) != DETOUR_OK) {
		fprintf(stderr, "detour check: %s\n", detour_diag_format(&d, msg, sizeof(msg)));
		return 2;
	}
	const struct detour_ruleset *set = detour_table_rules(t);
	size_t cnt = detour_ruleset_count(set);
	/* Every request goes to the base server, whatever its host. */
	snprintf(o->connect_to, sizeof(o->connect_to), "::%.*s:%d", (int)bp.host.len, bp.host.p,
	         port);
	o->first_only = true;
	*chains = calloc(cnt ? cnt : 1, sizeof(**chains));
	if (!*chains) {
		detour_table_free(t);
		return 2;
	}
	*n = 0;
	for (size_t i = 0; i < cnt; i++) {
		const struct detour_rule *r = detour_ruleset_get(set, i);
		char path[4096], host[300], url[DETOUR_FOLLOW_URL_MAX], norm[4096];
		if (r->kind == DETOUR_SRC_REGEX) {
			/* No path can be built that a regex is sure to match
			 * (the source is a pattern, not a path). */
			char id[256];
			fprintf(stderr,
			        "detour check: rule %s has a regex source (~%s): skipped, "
			        "no request can be built from a regex\n",
			        detour_rule_id(set, r, id, sizeof(id)), detour_rule_path(set, r));
			o->skipped++;
			continue;
		}
		if ((r->scheme == DETOUR_SCHEME_HTTPS && !https) ||
		    (r->scheme == DETOUR_SCHEME_HTTP && https)) {
			char id[256];
			fprintf(stderr, "detour check: rule %s is for %s only: skipped with %s\n",
			        detour_rule_id(set, r, id, sizeof(id)),
			        r->scheme == DETOUR_SCHEME_HTTPS ? "https" : "http", base);
			o->skipped++;
			continue;
		}
		example_path(set, r, path, sizeof(path));
		if (detour_ruleset_host_id(set, r))
			snprintf(host, sizeof(host), "%s%s",
			         (r->flags & DETOUR_RULE_HOST_WILDCARD) ? "www" : "",
			         detour_ruleset_host(set, r, NULL));
		else
			snprintf(host, sizeof(host), "%.*s", (int)bp.host.len, bp.host.p);
		snprintf(url, sizeof(url), "%s://%s:%d%s", https ? "https" : "http", host, port,
		         path);
		ssize_t nn = detour_url_normalize_path(path, strlen(path), norm, sizeof(norm));
		struct chain *c = &(*chains)[(*n)++];
		char id[256];
		c->url = check_strdup(url);
		c->label = check_strdup(detour_rule_id(set, r, id, sizeof(id)));
		if (nn < 0) {
			c->expect_status = r->status;
			continue;
		}
		struct detour_match_req q = {
		        .host = host,
		        .host_len = strlen(host),
		        .https = https,
		        .path = norm,
		        .path_len = (size_t)nn,
		};
		struct detour_match m;
		if (!detour_table_match(t, &q, &m)) {
			c->expect_status = 404;
			continue;
		}
		c->expect_status = m.rule->status;
		char loc[DETOUR_LOCATION_MAX];
		ssize_t ll = detour_respond_location(&m, &q, loc, sizeof(loc));
		if (ll > 0)
			c->expect_location = check_strndup(loc, (size_t)ll);
		else
			c->expect_none = m.rule->status == 410;
		if (m.rule != r) {
			char sid[256];
			detour_rule_id(set, m.rule, sid, sizeof(sid));
			size_t cap = strlen(c->label) + strlen(sid) + 32;
			char *lab = check_xmalloc(cap);
			snprintf(lab, cap, "%s, shadowed by %s", c->label, sid);
			free(c->label);
			c->label = lab;
		}
	}
	detour_table_free(t);
	return 0;
}
