/* detour server: the API rules (admin_rules.h): building and publishing
 * the API table (both stores use it), GET /rules, and the validation of
 * POST /rules and DELETE /rules/ID before the admin's store (admin_data.h:
 * the SQLite state or the fleet's Redis) makes the change and answers. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_http.h"
#include "admin_rules.h"
#include "detour/rulefile.h"
#include "detour/ruleprint.h"
#include "detour/table.h"

/* ---- building and publishing the API table ------------------------------- */

/* Builds the API table from rules (those not expired at now) and m. Returns
 * NULL with err. *next gets the earliest future expiry (0 = none). */
struct served *admin_build_api(struct server *srv, const struct api_rule *rules, size_t n,
                               const struct maint_state *m, int64_t now, int64_t *next, char *err,
                               size_t cap)
{
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_table *t = NULL;
	struct detour_diag d = {0};
	struct served *s;

	*next = 0;
	if (rs == NULL)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		if (rules[i].expires > 0 && rules[i].expires <= now)
			continue;
		if (rules[i].expires > 0 && (*next == 0 || rules[i].expires < *next))
			*next = rules[i].expires;
		/* A failed line leaves rs as it was. A rule stored before a
		 * change of the rule language (invalid on its own) is skipped,
		 * and said so; the others keep serving. Any other error fails. */
		size_t len = strlen(rules[i].line);
		detour_err e = detour_ruleset_add_line(rs, "api", (unsigned)rules[i].n,
		                                       rules[i].line, len, &d);
		if (e == DETOUR_EINVAL &&
		    detour_ruleset_check_line("api", (unsigned)rules[i].n, rules[i].line, len,
		                              &d) == DETOUR_EINVAL) {
			char b[512];
			log_err("API rule %s is not valid any more and is not served: %s",
			        rules[i].id, detour_diag_format(&d, b, sizeof(b)));
			continue;
		}
		if (e != DETOUR_OK) {
			detour_diag_format(&d, err, cap);
			detour_ruleset_free(rs);
			return NULL;
		}
	}
	if (detour_ruleset_count(rs) > 0) {
		if (detour_table_build(rs, &t, &d) != DETOUR_OK) {
			detour_diag_format(&d, err, cap);
			return NULL;
		}
	} else {
		detour_ruleset_free(rs);
	}
	/* Maintenance is published on its own (maint.c); only its end is
	 * watched here. */
	if (m->on && m->since > 0 && m->until > now && (*next == 0 || m->until < *next))
		*next = m->until;
	s = served_new(t, ORIGIN_API, srv->pool.n, srv->conf.stats);
	if (s == NULL)
		goto oom;
	return s;
oom:
	snprintf(err, cap, "out of memory");
	return NULL;
}

void admin_api_publish(struct admin *a, struct served *s, struct api_rule *rules, size_t n,
                       const struct maint_state *m, int64_t next)
{
	publish_served(&a->srv->pub, &a->srv->pub.api, s);
	state_rules_free(a->rules, a->nrules);
	a->rules = rules;
	a->nrules = n;
	a->maint = *m;
	a->next_expiry = next;
}

/* ---- endpoints ------------------------------------------------------------ */

json_t *admin_api_rule_json(const struct api_rule *r)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:s}", "id", r->id, "rule", r->line, "origin",
	                 "api", "expires", admin_json_time(r->expires), "created",
	                 admin_json_time(r->created), "who", r->who);
}

void admin_get_rules(struct ctx *x)
{
	struct admin *a = x->a;
	char origin[8] = "", q[512] = "";
	bool bad = false;
	int64_t offset = admin_query_int(x->r, "offset", 0, 0, INT64_MAX / 2, &bad);
	int64_t limit = admin_query_int(x->r, "limit", 100, 1, 1000, &bad);
	int64_t total = 0;
	json_t *arr = json_array();
	/* A file rule printed back (lib/ruleprint.c): it round-trips. */
	size_t text_cap = 2 * DETOUR_RULE_LINE_MAX;
	char *text = malloc(text_cap), id[1024];

	if (admin_query_get(x->r, "origin", origin, sizeof(origin)) && strcmp(origin, "api") &&
	    strcmp(origin, "file"))
		bad = true;
	admin_query_get(x->r, "q", q, sizeof(q));
	if (text == NULL) {
		json_decref(arr);
		admin_reply_error(x->c, 500, "out of memory");
		return;
	}
	if (bad) {
		free(text);
		json_decref(arr);
		admin_reply_error(
		        x->c, 400,
		        "query: offset >= 0, limit 1 to 1000, origin api or file, q a substring");
		return;
	}
	/* API rules first: they take precedence. */
	if (strcmp(origin, "file")) {
		for (size_t i = 0; i < a->nrules; i++) {
			const struct api_rule *r = &a->rules[i];
			if (q[0] && !strstr(r->line, q) && !strstr(r->id, q))
				continue;
			if (total >= offset && total < offset + limit)
				json_array_append_new(arr, admin_api_rule_json(r));
			total++;
		}
	}
	if (strcmp(origin, "api")) {
		pthread_mutex_lock(&a->srv->pub.file_lock);
		const struct served *s = atomic_load(&a->srv->pub.file);
		for (size_t i = 0; i < s->nrules; i++) {
			const struct detour_rule *r = detour_ruleset_get(s->rules, i);
			detour_rule_id(s->rules, r, id, sizeof(id));
			detour_rule_format(s->rules, r, text, text_cap);
			if (q[0] && !strstr(text, q) && !strstr(id, q))
				continue;
			if (total >= offset && total < offset + limit) {
				char at[1100];
				snprintf(at, sizeof(at), "%s:%u",
				         detour_ruleset_file(s->rules,
				                             detour_ruleset_rule_file(s->rules, r)),
				         detour_ruleset_line(s->rules, r));
				json_array_append_new(arr,
				                      json_pack("{s:s, s:s, s:s, s:n, s:s}", "id",
				                                id, "rule", text, "origin", "file",
				                                "expires", "at", at));
			}
			total++;
		}
		pthread_mutex_unlock(&a->srv->pub.file_lock);
	}
	free(text);
	admin_reply_json(x->c, 200,
	                 json_pack("{s:o, s:I, s:I, s:I}", "rules", arr, "total", (json_int_t)total,
	                           "offset", (json_int_t)offset, "limit", (json_int_t)limit),
	                 NULL);
}

void admin_post_rules(struct ctx *x)
{
	static const char *const allowed[] = {"rule", "ttl", "until", NULL};
	struct admin *a = x->a;
	json_t *j = admin_body_object(x, allowed);
	struct detour_ruleset *rs;
	struct detour_diag d = {0};
	int64_t now = now_sec(), expires;
	char err[600], id[300];
	const char *line;

	if (j == NULL)
		return;
	line = json_string_value(json_object_get(j, "rule"));
	if (line == NULL) {
		json_decref(j);
		admin_reply_error(x->c, 400, "\"rule\": expected one line of the rule language");
		return;
	}
	if (admin_expiry_of(x, j, now, &expires)) {
		json_decref(j);
		return;
	}
	/* Validate alone first, for a located error message. */
	rs = detour_ruleset_new();
	if (rs == NULL ||
	    detour_ruleset_add_line(rs, "rule", 1, line, strlen(line), &d) != DETOUR_OK) {
		detour_diag_format(&d, err, sizeof(err));
		detour_ruleset_free(rs);
		json_decref(j);
		admin_reply_error(x->c, 400, rs ? err : "out of memory");
		return;
	}
	const struct detour_rule *pr = detour_ruleset_get(rs, 0);
	const struct detour_rule_ext *px =
	        (pr->flags & DETOUR_RULE_EXT) ? detour_ruleset_ext(rs, pr) : NULL;
	if (px && px->health) {
		/* The prober sends HEAD requests to the target's origin from
		 * inside the network: from the API (reachable by whoever holds
		 * a token) that would let a caller make detour probe any host
		 * it can reach. Health-checked groups belong in a rules file,
		 * written by whoever deploys the server (issue 11). */
		detour_ruleset_free(rs);
		json_decref(j);
		admin_reply_error(x->c, 400,
		                  "rule:1: health= is not allowed in API rules (the probes would "
		                  "reach any host an API caller names); put health-checked groups "
		                  "in a rules file");
		return;
	}
	if (pr->flags & DETOUR_RULE_ID_SET)
		snprintf(id, sizeof(id), "%s", detour_ruleset_idval(rs, pr, NULL));
	else
		id[0] = '\0';
	detour_ruleset_free(rs);
	/* id= cannot hold ':' (the rule language), so it never clashes with
	 * the "api:N" ids given here. */
	a->store->add_rule(x, id, line, now, expires);
	json_decref(j);
}

void admin_reply_no_api_rule(struct ctx *x, const char *id)
{
	struct admin *a = x->a;
	bool file = false;
	char b[1024];

	/* A file rule is changed in its file. */
	pthread_mutex_lock(&a->srv->pub.file_lock);
	const struct served *fs = atomic_load(&a->srv->pub.file);
	for (size_t i = 0; i < fs->nrules && !file; i++)
		file = !strcmp(
		        detour_rule_id(fs->rules, detour_ruleset_get(fs->rules, i), b, sizeof(b)),
		        id);
	pthread_mutex_unlock(&a->srv->pub.file_lock);
	if (file)
		admin_reply_error(x->c, 409, "a file rule: change its file and reload");
	else
		admin_reply_error(x->c, 404, "no API rule has this id");
}

void admin_delete_rule(struct ctx *x, const char *id)
{
	x->a->store->delete_rule(x, id);
}
