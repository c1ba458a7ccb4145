/* Helpers shared by the unit tests of the rule language's modules
 * (test_regex.c, test_cond.c, test_window.c, test_table_ext.c,
 * test_respond_ext.c): build a table from rules text, the error of loading
 * text, and requests with a method, headers, an address and a clock. */
#ifndef DETOUR_TEST_RULES_TEST_H
#define DETOUR_TEST_RULES_TEST_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "base/civil.h"
#include "detour/http1.h"
#include "detour/respond.h"
#include "detour/rulefile.h"
#include "detour/table.h"
#include "detour/table_match.h"

static inline struct detour_table *build(const char *text)
{
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_table *t = NULL;
	struct detour_diag d;
	char msg[512];

	assert_non_null(rs);
	if (detour_ruleset_load_buf(rs, "t.rules", text, strlen(text), &d) != DETOUR_OK)
		fail_msg("load: %s", detour_diag_format(&d, msg, sizeof(msg)));
	assert_int_equal(detour_table_build(rs, &t, &d), DETOUR_OK);
	assert_non_null(t);
	return t;
}

/* The error of loading text, "" when it loads. */
static inline const char *load_error(const char *text, char *msg, size_t cap)
{
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_diag d;

	msg[0] = '\0';
	if (detour_ruleset_load_buf(rs, "r", text, strlen(text), &d) != DETOUR_OK)
		detour_diag_format(&d, msg, cap);
	detour_ruleset_free(rs);
	return msg;
}

/* A request: "METHOD /path?query" and header lines "Name: value". */
struct treq {
	struct detour_request req;
	struct detour_match_req q;
	struct sockaddr_in6 peer;
	char path[512];
};

static inline void mkreq(struct treq *r, const char *method, const char *target,
                         const char *const *hdrs, const char *ip, time_t now)
{
	memset(r, 0, sizeof(*r));
	r->req.method = method;
	r->req.method_len = strlen(method);
	r->req.method_id = !strcmp(method, "GET")    ? DETOUR_M_GET
	                   : !strcmp(method, "HEAD") ? DETOUR_M_HEAD
	                   : !strcmp(method, "POST") ? DETOUR_M_POST
	                   : !strcmp(method, "PUT")  ? DETOUR_M_PUT
	                                             : DETOUR_M_OTHER;
	for (unsigned i = 0; hdrs && hdrs[i]; i++) {
		const char *c = strchr(hdrs[i], ':');
		struct detour_header *h = &r->req.headers[r->req.num_headers++];
		h->name = hdrs[i];
		h->name_len = (size_t)(c - hdrs[i]);
		h->value = c + 2;
		h->value_len = strlen(c + 2);
	}
	const char *qm = strchr(target, '?');
	size_t pl = qm ? (size_t)(qm - target) : strlen(target);
	memcpy(r->path, target, pl);
	r->q.path = r->path;
	r->q.path_len = pl;
	if (qm) {
		r->q.query = qm + 1;
		r->q.query_len = strlen(qm + 1);
	}
	r->q.req = &r->req;
	r->q.now = now;
	if (ip) {
		struct sockaddr_in *v4 = (struct sockaddr_in *)&r->peer;
		if (strchr(ip, ':')) {
			r->peer.sin6_family = AF_INET6;
			assert_int_equal(inet_pton(AF_INET6, ip, &r->peer.sin6_addr), 1);
		} else {
			v4->sin_family = AF_INET;
			assert_int_equal(inet_pton(AF_INET, ip, &v4->sin_addr), 1);
		}
		r->q.peer = (const struct sockaddr *)&r->peer;
	}
}

/* The line of the matching rule (0: none) and its Location in loc. */
static inline unsigned hit(const struct detour_table *t, struct treq *r, char *loc, size_t cap)
{
	struct detour_match m;

	if (loc)
		loc[0] = '\0';
	if (!detour_table_match(t, &r->q, &m))
		return 0;
	if (loc) {
		ssize_t n = detour_respond_location(&m, &r->q, loc, cap - 1);
		assert_true(n >= 0);
		loc[n] = '\0';
	}
	return detour_ruleset_line(detour_table_rules(t), m.rule);
}

static inline unsigned line_of(const struct detour_table *t, const char *target,
                               const char *const *h, const char *ip, time_t now, char *loc)
{
	struct treq r;

	mkreq(&r, "GET", target, h, ip, now);
	return hit(t, &r, loc, 1024);
}

#define T(s) at(s)
static inline time_t at(const char *s)
{
	int64_t t;
	assert_int_equal(civil_parse_time(s, strlen(s), &t), 0);
	return (time_t)t;
}

#endif
