/* libFuzzer target: arbitrary bytes as a rules file. When they load, the
 * table is built and matched with requests derived from every rule (each
 * rule must be found, or an earlier one) and with paths taken from the
 * input; every match becomes a Location and a whole response, whose
 * invariants are checked:
 *   - a diag for every error, with a line and a message;
 *   - the Location holds no CTL, space, DEL or non-ASCII byte (so no CR, LF
 *     or NUL), and a path target never yields one starting with "//";
 *   - Content-Length equals the body's length (0 bytes sent for HEAD);
 *   - the response fits DETOUR_RESPONSE_MAX;
 *   - extensions: a regex rule's captures lie inside the request path; a rule
 *     with allow-hosts= yields a path or an http(s) URL on one of its hosts;
 *     Set-Cookie is sent exactly when the match names a cookie; status html
 *     answers 200 without a Location; a window's end is in the future of the
 *     clock the match was given;
 *   - a loaded rule printed back (detour_rule_format) loads alone as an
 *     equal rule (source, target, status, options), and prints the same. */
#include "fuzz.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/civil.h"
#include "detour/respond.h"
#include "detour/rulefile.h"
#include "detour/ruleprint.h"
#include "detour/table.h"
#include "detour/table_match.h"
#include "detour/url.h"

#define NOW 1700000000 /* the clock of every match and response */

static char out[DETOUR_RESPONSE_MAX];

/* Writes the response for m (GET or HEAD); returns the Content-Length, or
 * -1 when the Location is over the limit. */
static long response(const struct detour_match *m, const struct detour_match_req *q, bool head)
{
	char date[DETOUR_DATE_LEN + 1];
	struct detour_respond_ctx ctx = {
	        .date = date, .now = NOW, .head = head, .close = head, .server_header = !head};

	civil_http_date(ctx.now, date);
	ssize_t n = detour_respond(m, q, &ctx, out, sizeof(out));
	if (n < 0)
		return -1;
	CHECK(memcmp(out, "HTTP/1.1 ", 9) == 0);
	const char *end = memmem(out, (size_t)n, "\r\n\r\n", 4);
	CHECK(end != NULL);
	size_t head_len = (size_t)(end - out) + 4;
	for (size_t i = 0; i + 1 < head_len; i++)
		CHECK(out[i] != '\0' && (out[i] != '\r' || out[i + 1] == '\n') &&
		      (out[i] != '\n' || (i > 0 && out[i - 1] == '\r')));
	const char *cl = memmem(out, head_len, "\r\nContent-Length: ", 18);
	CHECK(cl != NULL);
	long v = strtol(cl + 18, NULL, 10);
	CHECK(v > 0);
	/* Set-Cookie exactly when the group named a cookie; html: no Location */
	CHECK((memmem(out, head_len, "\r\nSet-Cookie: ", 14) != NULL) == (m->cookie != NULL));
	if (m->rule->status == 200)
		CHECK(memmem(out, head_len, "\r\nLocation: ", 12) == NULL);
	if (head)
		CHECK((size_t)n == head_len);
	else
		CHECK((size_t)v == (size_t)n - head_len);
	return v;
}

static void check_response(const struct detour_match *m, const struct detour_match_req *q)
{
	const struct detour_rule *r = m->rule;
	ssize_t ln = detour_respond_location(m, q, out, sizeof(out));

	if (r->target_len == 0) {
		CHECK(ln == 0);
	} else if (ln >= 0) {
		CHECK(ln <= DETOUR_LOCATION_MAX);
		for (ssize_t i = 0; i < ln; i++)
			CHECK((unsigned char)out[i] > 0x20 && (unsigned char)out[i] < 0x7f);
		if (m->target[0] == '/')
			CHECK(ln >= 1 && out[0] == '/' && !(ln >= 2 && out[1] == '/'));
		if (m->ext && (m->ext->flags & DETOUR_EXT_CAPTURE_AUTHORITY)) {
			/* the open-redirect guard let it through: a path, or an
			 * allowed host */
			struct detour_url u;
			CHECK(detour_url_parse(out, (size_t)ln, &u) == DETOUR_OK);
			if (u.scheme.p == NULL) {
				CHECK(!u.has_authority && out[0] == '/');
			} else {
				bool ok = false;
				for (unsigned i = 0; i < m->ext->nallow; i++)
					ok |= m->ext->allow_hosts[i].len == u.host.len &&
					      strncasecmp(m->ext->allow_hosts[i].p, u.host.p,
					                  u.host.len) == 0;
				CHECK(ok);
			}
		}
	}
	if (m->rule->kind == DETOUR_SRC_REGEX)
		for (unsigned i = 0; i < m->ncaps; i++)
			CHECK(m->caps[i].p >= q->path &&
			      m->caps[i].p + m->caps[i].len <= q->path + q->path_len);
	CHECK(m->window_end == INT64_MAX || m->window_end > NOW);
	long get = response(m, q, false);
	long head = response(m, q, true);
	CHECK(get == head);               /* HEAD announces the GET body's length */
	CHECK((get == -1) == (ln == -1)); /* only an over-long Location fails */
}

/* A request path the source of r matches: placeholders become "v", a
 * splat gets "s/t". */
/* Whether won, the rule that answered, is a member of a weighted group with
 * the same source as some rule before index idx: a group answers at the
 * place of its first line (docs/rules.md, "Weighted splits"), so a later
 * member may rightly answer before the rule at idx. */
static bool group_before(const struct detour_ruleset *rs, const struct detour_rule *won,
                         uint32_t idx)
{
	const struct detour_rule_ext *wx = detour_ruleset_ext(rs, won);

	if (wx == NULL || wx->weight == 0)
		return false;
	for (uint32_t j = 0; j < idx; j++) {
		const struct detour_rule *rj = detour_ruleset_get(rs, j);
		const struct detour_rule_ext *xj = detour_ruleset_ext(rs, rj);
		if (xj && xj->weight && rj->kind == won->kind && rj->path_len == won->path_len &&
		    detour_ruleset_host_id(rs, rj) == detour_ruleset_host_id(rs, won) &&
		    memcmp(detour_rule_path(rs, rj), detour_rule_path(rs, won), won->path_len) == 0)
			return true;
	}
	return false;
}

static size_t path_for(const struct detour_ruleset *rs, const struct detour_rule *r, char *buf,
                       size_t cap)
{
	size_t o = 0;
	const char *rp = detour_rule_path(rs, r), *p = rp, *e = rp + r->path_len;

	if (r->kind == DETOUR_SRC_PATTERN && (r->flags & DETOUR_RULE_SPLAT))
		e -= 1; /* keep the '/' before "*" */
	while (p < e && o + 4 < cap) {
		if (*p == ':' && p > rp && p[-1] == '/') {
			buf[o++] = 'v';
			while (p < e && *p != '/')
				p++;
			continue;
		}
		buf[o++] = *p++;
	}
	if ((r->flags & DETOUR_RULE_SPLAT) && o + 4 < cap) {
		memcpy(buf + o, "s/t", 3);
		o += 3;
	}
	return o;
}

static char line1[2 * DETOUR_RULE_LINE_MAX], line2[2 * DETOUR_RULE_LINE_MAX];

static bool same(const char *a, size_t an, const char *b, size_t bn)
{
	return an == bn && memcmp(a, b, an) == 0;
}

/* Rule r of rs printed, loaded alone, printed again: equal (its file,
 * line and index aside; the regex compiled for case= depends on @slash,
 * which a line alone does not carry, so compiled fields are not compared). */
static void check_round_trip(const struct detour_ruleset *rs, const struct detour_rule *r)
{
	size_t n = detour_rule_format(rs, r, line1, sizeof(line1));
	struct detour_diag d;

	CHECK(n > 0 && strlen(line1) == n);
	struct detour_ruleset *rs2 = detour_ruleset_new();
	if (rs2 == NULL)
		return;
	detour_err e = detour_ruleset_add_line(rs2, "p", 1, line1, n, &d);
	if (e == DETOUR_ENOMEM) {
		detour_ruleset_free(rs2);
		return;
	}
	if (e != DETOUR_OK)
		fprintf(stderr, "printed \"%s\": %s\n", line1, d.msg);
	CHECK(e == DETOUR_OK);
	const struct detour_rule *b = detour_ruleset_get(rs2, 0);
	size_t al, bl;
	const char *as = detour_ruleset_host(rs, r, &al), *bs = detour_ruleset_host(rs2, b, &bl);
	CHECK(same(as, al, bs, bl));
	CHECK(same(detour_rule_path(rs, r), r->path_len, detour_rule_path(rs2, b), b->path_len));
	CHECK(same(detour_rule_target(rs, r), r->target_len, detour_rule_target(rs2, b),
	           b->target_len));
	as = detour_ruleset_idval(rs, r, &al);
	bs = detour_ruleset_idval(rs2, b, &bl);
	CHECK(same(as, al, bs, bl));
	CHECK(r->status == b->status && detour_rule_cache(rs, r) == detour_rule_cache(rs2, b) &&
	      r->kind == b->kind && r->scheme == b->scheme && r->query == b->query &&
	      (r->flags & ~DETOUR_RULE_PACKED) == b->flags); /* b, alone, is a head */
	const struct detour_rule_ext *x = detour_ruleset_ext(rs, r),
	                             *y = detour_ruleset_ext(rs2, b);
	CHECK((x == NULL) == (y == NULL));
	if (x) {
		CHECK(x->flags == y->flags && x->nconds == y->nconds && x->weight == y->weight &&
		      x->sticky == y->sticky && x->sticky_set == y->sticky_set &&
		      x->delay == y->delay && x->nallow == y->nallow);
		CHECK(x->window.from == y->window.from && x->window.until == y->window.until &&
		      x->window.days == y->window.days &&
		      x->window.hour_from == y->window.hour_from &&
		      x->window.hour_to == y->window.hour_to);
		CHECK((x->health == NULL) == (y->health == NULL));
		CHECK(x->health == NULL || strcmp(x->health, y->health) == 0);
		for (unsigned i = 0; i < x->nconds; i++)
			CHECK(same(x->conds[i].text.p, x->conds[i].text.len, y->conds[i].text.p,
			           y->conds[i].text.len));
		for (unsigned i = 0; i < x->nallow; i++)
			CHECK(same(x->allow_hosts[i].p, x->allow_hosts[i].len, y->allow_hosts[i].p,
			           y->allow_hosts[i].len));
	}
	CHECK(detour_rule_format(rs2, b, line2, sizeof(line2)) == n && !strcmp(line1, line2));
	detour_ruleset_free(rs2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_table *t = NULL;
	struct detour_diag d;
	char msg[512];

	memset(&d, 0, sizeof(d));
	if (rs == NULL)
		return 0;
	detour_err e = detour_ruleset_load_buf(rs, "fuzz", (const char *)data, size, &d);
	if (e != DETOUR_OK) {
		CHECK(e == DETOUR_EINVAL || e == DETOUR_ENOMEM);
		if (e == DETOUR_EINVAL) {
			CHECK(d.line >= 1 && d.col >= 1 && d.msg[0] != '\0');
			CHECK(d.col <= DETOUR_RULE_LINE_MAX + 1);
		}
		detour_diag_format(&d, msg, sizeof(msg));
		detour_ruleset_free(rs);
		/* Collecting: the first error is the same, every error is a
		 * line's, in ascending line order. */
		static struct detour_diags ds;
		struct detour_diag d2;
		memset(&ds, 0, sizeof(ds));
		memset(&d2, 0, sizeof(d2));
		rs = detour_ruleset_new();
		if (rs == NULL)
			return 0;
		detour_ruleset_collect(rs, &ds);
		e = detour_ruleset_load_buf(rs, "fuzz", (const char *)data, size, &d2);
		CHECK(e == DETOUR_EINVAL || e == DETOUR_ENOMEM);
		if (e == DETOUR_EINVAL && d.line) {
			CHECK(ds.total >= 1 && ds.n >= 1);
			CHECK(d2.line == d.line && d2.col == d.col && !strcmp(d2.msg, d.msg));
			for (unsigned i = 1; i < ds.n; i++)
				CHECK(ds.d[i].line > ds.d[i - 1].line && ds.d[i].col >= 1);
		}
		detour_ruleset_free(rs);
		return 0;
	}
	/* The same input collecting every line error (lint, serve -t): the
	 * skip to the next line after an error, and the count. */
	{
		static struct detour_diags ds;
		struct detour_ruleset *rs2 = detour_ruleset_new();
		memset(&ds, 0, sizeof(ds));
		if (rs2) {
			detour_ruleset_collect(rs2, &ds);
			CHECK(detour_ruleset_load_buf(rs2, "fuzz", (const char *)data, size, &d) ==
			      DETOUR_OK);
			CHECK(ds.total == 0 &&
			      detour_ruleset_count(rs2) == detour_ruleset_count(rs));
			detour_ruleset_free(rs2);
		}
	}
	size_t nrules = detour_ruleset_count(rs);
	for (size_t i = 0; i < nrules; i++) {
		const struct detour_rule *r = detour_ruleset_get(rs, i);
		size_t rhl;
		const char *rh = detour_ruleset_host(rs, r, &rhl);
		CHECK(detour_rule_index(rs, r) == i &&
		      strlen(detour_rule_path(rs, r)) == r->path_len &&
		      strlen(detour_rule_target(rs, r)) == r->target_len && strlen(rh) == rhl);
		CHECK((rhl == 0 && !(r->flags & DETOUR_RULE_HOST_WILDCARD)) ==
		      (detour_ruleset_host_id(rs, r) == 0));
		CHECK(r->kind == DETOUR_SRC_REGEX || detour_rule_path(rs, r)[0] == '/');
		CHECK(r->status == 410 ? r->target_len == 0 : r->target_len > 0);
		const struct detour_rule_ext *x = detour_ruleset_ext(rs, r);
		CHECK((x != NULL) == ((r->flags & DETOUR_RULE_EXT) != 0));
		CHECK((r->status == 200) == (x && (x->flags & DETOUR_EXT_HTML)));
		CHECK(r->kind != DETOUR_SRC_REGEX || (x && x->re));
		/* only exact rules without an extension, never a block's head */
		CHECK(!(r->flags & DETOUR_RULE_PACKED) ||
		      (r->kind == DETOUR_SRC_EXACT && !x && i % 16 != 0));
		if (i < 16)
			check_round_trip(rs, r);
	}
	if (detour_table_build(rs, &t, &d) != DETOUR_OK)
		return 0;

	/* a normalised path may be three times its line (raw bytes become
	 * %XX): a request for a rule must hold the whole path */
	static char path[3 * DETOUR_RULE_LINE_MAX + 64];
	char host[300];
	struct detour_match m;
	struct detour_match_req q;

	/* Every rule is reachable by a request made for it, unless an
	 * earlier rule takes that request first. */
	for (size_t i = 0; i < nrules && i < 64; i++) {
		const struct detour_rule *r = detour_ruleset_get(detour_table_rules(t), i);
		/* A rule with an extension (regex, condition, window, group,
		 * guard) may rightly not apply: it is matched below with the
		 * input's paths instead. */
		if (r->flags & DETOUR_RULE_EXT)
			continue;
		size_t pl = path_for(rs, r, path, sizeof(path));
		size_t hl = 0;
		if (r->flags & DETOUR_RULE_HOST_WILDCARD)
			host[hl++] = 'w';
		size_t rhl;
		const char *rh = detour_ruleset_host(detour_table_rules(t), r, &rhl);
		if (rhl < sizeof(host) - 8) {
			memcpy(host + hl, rh, rhl);
			hl += rhl;
		}
		memcpy(host + hl, ":8080", 5);
		memset(&q, 0, sizeof(q));
		q.host = host;
		q.host_len = hl + 5;
		q.https = r->scheme == DETOUR_SCHEME_HTTPS;
		q.path = path;
		q.path_len = pl;
		q.query = "a=1&b=%0D";
		q.query_len = 9;
		q.now = NOW;
		CHECK(detour_table_match(t, &q, &m));
		CHECK(m.index <= detour_rule_index(rs, r) ||
		      group_before(rs, m.rule, detour_rule_index(rs, r)));
		check_response(&m, &q);
	}

	/* Paths found in the input, normalised as the server does. */
	const char *s = (const char *)data, *end = s + size;
	unsigned tries = 0;
	while (s < end && tries < 32) {
		const char *slash = memchr(s, '/', (size_t)(end - s));
		if (slash == NULL)
			break;
		const char *stop = slash;
		while (stop < end && *stop != ' ' && *stop != '\n' && *stop != '\t' && *stop != '?')
			stop++;
		ssize_t pl = detour_url_normalize_path(slash, (size_t)(stop - slash), path,
		                                       sizeof(path));
		s = stop + (stop < end);
		tries++;
		if (pl <= 0)
			continue;
		memset(&q, 0, sizeof(q));
		q.path = path;
		q.path_len = (size_t)pl;
		q.host = "x.example";
		q.host_len = 9;
		q.https = tries & 1;
		q.now = NOW;
		if (stop < end && *stop == '?') {
			q.query = stop + 1;
			const char *qe = stop + 1;
			while (qe < end && (unsigned char)*qe > ' ')
				qe++;
			q.query_len = (size_t)(qe - q.query);
		}
		if (detour_table_match(t, &q, &m)) {
			check_response(&m, &q);
		}
	}
	detour_table_free(t);
	return 0;
}
