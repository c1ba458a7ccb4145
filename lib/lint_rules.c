/* detour: the leaf of the rule-table lint (see lint.h and docs/lint.md):
 * what its entry (lint.c) and its passes (lint_shadow.c, lint_risk.c,
 * lint_walk.c, lint_chain.c) share: growing strings, findings, a rule's
 * extension read as lint needs it (conditional, weight, case, the options
 * as written), and the example request of a rule's source. It calls none
 * of those files. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/civil.h"
#include "base/grow.h"
#include "lint_rules_int.h"

/* ------------------------------------------------------------------ codes */

static const struct {
	const char *name;
	enum detour_lint_severity sev;
} codes[DETOUR_LINT_CODE_COUNT] = {
        [DETOUR_LINT_LOOP] = {"loop", DETOUR_LINT_ERROR},
        [DETOUR_LINT_SELF] = {"self-redirect", DETOUR_LINT_ERROR},
        [DETOUR_LINT_CHAIN] = {"chain", DETOUR_LINT_WARNING},
        [DETOUR_LINT_TARGET_REDIRECTS] = {"target-redirects", DETOUR_LINT_WARNING},
        [DETOUR_LINT_SHADOWED] = {"shadowed", DETOUR_LINT_WARNING},
        [DETOUR_LINT_DUPLICATE] = {"duplicate", DETOUR_LINT_WARNING},
        [DETOUR_LINT_CONFLICT] = {"conflict", DETOUR_LINT_ERROR},
        [DETOUR_LINT_PERM_NO_CACHE] = {"permanent-no-cache", DETOUR_LINT_WARNING},
        [DETOUR_LINT_METHOD_CHANGE] = {"method-change", DETOUR_LINT_WARNING},
        [DETOUR_LINT_WINDOW_ENDED] = {"window-ended", DETOUR_LINT_WARNING},
        [DETOUR_LINT_WINDOW_NEVER] = {"window-never", DETOUR_LINT_WARNING},
        [DETOUR_LINT_WEIGHTS] = {"weights", DETOUR_LINT_WARNING},
        [DETOUR_LINT_OPEN_REDIRECT] = {"open-redirect", DETOUR_LINT_WARNING},
        [DETOUR_LINT_MAY_LOOP] = {"may-loop", DETOUR_LINT_WARNING},
        [DETOUR_LINT_SECOND_HOP] = {"second-hop", DETOUR_LINT_WARNING},
        [DETOUR_LINT_HSTS_PRELOAD] = {"hsts-preload", DETOUR_LINT_WARNING},
        [DETOUR_LINT_REGEX_COST] = {"regex-cost", DETOUR_LINT_WARNING},
        [DETOUR_LINT_REGEX_PCRE2] = {"regex-pcre2", DETOUR_LINT_NOTE},
};

const char *detour_lint_code_name(enum detour_lint_code c)
{
	return (unsigned)c < DETOUR_LINT_CODE_COUNT ? codes[c].name : "unknown";
}

enum detour_lint_severity detour_lint_code_severity(enum detour_lint_code c)
{
	return (unsigned)c < DETOUR_LINT_CODE_COUNT ? codes[c].sev : DETOUR_LINT_ERROR;
}

const char *detour_lint_severity_name(enum detour_lint_severity s)
{
	return s == DETOUR_LINT_ERROR ? "error" : s == DETOUR_LINT_NOTE ? "note" : "warning";
}

/* ------------------------------------------------------------ text helpers */

void detour_lint_sb_fmt(struct bbuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	bbuf_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

const char *detour_lint_source_text(const struct detour_ruleset *rs, const struct detour_rule *r,
                                    char *buf, size_t cap)
{
	size_t hl;
	const char *host = detour_ruleset_host(rs, r, &hl);
	const char *scheme = r->scheme == DETOUR_SCHEME_HTTPS  ? "https:"
	                     : r->scheme == DETOUR_SCHEME_HTTP ? "http:"
	                                                       : "";
	const char *wild = (r->flags & DETOUR_RULE_HOST_WILDCARD) ? "*" : "";

	if (cap == 0)
		return buf;
	if (r->kind == DETOUR_SRC_REGEX && !hl)
		snprintf(buf, cap, "~%s", detour_rule_path(rs, r));
	else if (r->kind == DETOUR_SRC_REGEX)
		snprintf(buf, cap, "%s//%s%s~%s", scheme, wild, host, detour_rule_path(rs, r));
	else if (hl)
		snprintf(buf, cap, "%s//%s%s%s%s", scheme, wild, host, detour_rule_path(rs, r),
		         r->kind == DETOUR_SRC_SPLAT ? "*" : "");
	else
		snprintf(buf, cap, "%s%s", detour_rule_path(rs, r),
		         r->kind == DETOUR_SRC_SPLAT ? "*" : "");
	return buf;
}

void detour_lint_rule_ref(const struct lint *L, uint32_t i, struct bbuf *b)
{
	const struct detour_rule *r = detour_ruleset_get(L->rs, i);
	const char *f = detour_ruleset_file(L->rs, detour_ruleset_rule_file(L->rs, r));

	detour_lint_sb_fmt(b, "%s:%u", f ? f : "?", detour_ruleset_line(L->rs, r));
}

static struct detour_lint_finding *push(struct lint *L, enum detour_lint_code code, uint32_t rule)
{
	struct detour_lint_result *o = L->out;

	if (BASE_GROW(o->v, L->cap, o->n + 1) != 0) {
		L->nomem = true;
		return NULL;
	}
	const struct detour_rule *r = detour_ruleset_get(L->rs, rule);
	struct detour_lint_finding *f = &o->v[o->n++];
	memset(f, 0, sizeof(*f));
	f->code = code;
	f->severity = codes[code].sev;
	f->rule = rule;
	f->file = detour_ruleset_file(L->rs, detour_ruleset_rule_file(L->rs, r));
	f->line = detour_ruleset_line(L->rs, r);
	return f;
}

/* Adds a finding with message msg and fix (both taken over, may be NULL on
 * allocation failure) and related rules rel[0..nrel). */
struct detour_lint_finding *detour_lint_add(struct lint *L, enum detour_lint_code code,
                                            uint32_t rule, struct bbuf *msg, struct bbuf *fix,
                                            const uint32_t *rel, size_t nrel)
{
	struct detour_lint_finding *f = push(L, code, rule);
	char *m = bbuf_take(msg, NULL);
	char *x = fix ? bbuf_take(fix, NULL) : NULL;

	if (f == NULL || m == NULL || (fix && x == NULL)) {
		free(m);
		free(x);
		if (f)
			L->out->n--;
		L->nomem = true;
		return NULL;
	}
	f->message = m;
	f->fix = x;
	if (nrel) {
		f->related = malloc(nrel * sizeof(*rel));
		if (f->related == NULL) {
			L->nomem = true;
			return f;
		}
		memcpy(f->related, rel, nrel * sizeof(*rel));
		f->nrelated = nrel;
	}
	return f;
}

/* ------------------------------------------------------------ extensions */

const struct detour_rule_ext *detour_lint_ext_of(const struct detour_ruleset *rs,
                                                 const struct detour_rule *r)
{
	return (r->flags & DETOUR_RULE_EXT) ? detour_ruleset_ext(rs, r) : NULL;
}

bool detour_lint_conditional(const struct detour_ruleset *rs, const struct detour_rule *r)
{
	const struct detour_rule_ext *x = detour_lint_ext_of(rs, r);

	return x && (x->nconds || (x->flags & (DETOUR_EXT_WINDOW | DETOUR_EXT_CAPTURE_AUTHORITY)));
}

/* Whether r depends on the request itself (conditions) or the clock (a
 * window): a walk that goes through it "may" redirect. */
bool detour_lint_walk_conditional(const struct detour_ruleset *rs, const struct detour_rule *r)
{
	const struct detour_rule_ext *x = detour_lint_ext_of(rs, r);

	return x && (x->nconds || (x->flags & DETOUR_EXT_WINDOW));
}

uint32_t detour_lint_weight_of(const struct detour_ruleset *rs, const struct detour_rule *r)
{
	const struct detour_rule_ext *x = detour_lint_ext_of(rs, r);

	return x ? x->weight : 0;
}

bool detour_lint_case_i(const struct detour_ruleset *rs, const struct detour_rule *r)
{
	const struct detour_rule_ext *x = detour_lint_ext_of(rs, r);

	return x && (x->flags & DETOUR_EXT_CASE_I);
}

void detour_lint_sb_cond_text(struct bbuf *b, const struct detour_ruleset *rs,
                              const struct detour_rule *r)
{
	static const char *const dn[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
	const struct detour_rule_ext *x = detour_lint_ext_of(rs, r);
	char tb[CIVIL_RFC3339_MAX];

	if (x == NULL)
		return;
	for (unsigned i = 0; i < x->nconds; i++) {
		if (b->len)
			bbuf_put(b, " ", 1);
		bbuf_put(b, x->conds[i].text.p, x->conds[i].text.len);
	}
	if (x->flags & DETOUR_EXT_WINDOW) {
		const struct detour_window *w = &x->window;
		if (w->from != DETOUR_TIME_NONE_FROM) {
			civil_format_rfc3339(w->from, tb);
			detour_lint_sb_fmt(b, "%sfrom=%s", b->len ? " " : "", tb);
		}
		if (w->until != DETOUR_TIME_NONE_UNTIL) {
			civil_format_rfc3339(w->until, tb);
			detour_lint_sb_fmt(b, "%suntil=%s", b->len ? " " : "", tb);
		}
		if (w->days) {
			bbuf_puts(b, b->len ? " days=" : "days=");
			bool first = true;
			for (unsigned d = 0; d < 7; d++)
				if (w->days & (1u << d)) {
					detour_lint_sb_fmt(b, "%s%s", first ? "" : ",", dn[d]);
					first = false;
				}
		}
		if (w->hour_from >= 0)
			detour_lint_sb_fmt(b, "%shours=%02d:%02d-%02d:%02d", b->len ? " " : "",
			                   (int)(w->hour_from / 3600),
			                   (int)(w->hour_from / 60 % 60), (int)(w->hour_to / 3600),
			                   (int)(w->hour_to / 60 % 60));
		if (w->tz && (w->days || w->hour_from >= 0))
			detour_lint_sb_fmt(b, " tz=%s", detour_tz_name(w->tz));
	}
	if (x->weight)
		detour_lint_sb_fmt(b, "%sweight=%u", b->len ? " " : "", (unsigned)x->weight);
}

const char *detour_lint_conditions(const struct detour_ruleset *rs, const struct detour_rule *r,
                                   char *buf, size_t cap)
{
	struct bbuf b = LINT_TEXT;

	if (cap == 0)
		return buf;
	detour_lint_sb_cond_text(&b, rs, r);
	snprintf(buf, cap, "%s", bbuf_cstr(&b));
	bbuf_free(&b);
	return buf;
}

/* ---------------------------------------------------------- examples */

/* Whether rule w always applies when its source matches: no condition, no
 * time window, no open-redirect guard, not a member of a weighted group. */
bool detour_lint_unconditional(const struct lint *L, const struct detour_rule *w)
{
	return !detour_lint_conditional(L->rs, w) && detour_lint_weight_of(L->rs, w) == 0;
}

/* The example request of rule r: its host (a wildcard gets a label), and its
 * path with every placeholder replaced by "~name~" and a splat by
 * "~splat~". Returns false for a source that has no example (regex). */
bool detour_lint_example_path(const struct detour_ruleset *rs, const struct detour_rule *r,
                              char *out, size_t cap, size_t *len)
{
	size_t o = 0, n = r->path_len;
	const char *p = detour_rule_path(rs, r);

	if (r->kind == DETOUR_SRC_REGEX)
		return false;
	if (r->kind == DETOUR_SRC_EXACT) {
		if (n > cap)
			return false;
		memcpy(out, p, n);
		*len = n;
		return true;
	}
	bool tail = r->kind == DETOUR_SRC_SPLAT || (r->flags & DETOUR_RULE_SPLAT);
	if (r->kind == DETOUR_SRC_PATTERN && tail)
		n -= 1; /* keep the '/' before the '*' */
	for (size_t i = 0; i < n;) {
		if (p[i] == ':' && i > 0 && p[i - 1] == '/') {
			const char *e = memchr(p + i, '/', n - i);
			size_t end = e ? (size_t)(e - p) : n;
			if (o + (end - i) + 2 > cap)
				return false;
			out[o++] = '~';
			memcpy(out + o, p + i + 1, end - i - 1);
			o += end - i - 1;
			out[o++] = '~';
			i = end;
		} else {
			if (o + 1 > cap)
				return false;
			out[o++] = p[i++];
		}
	}
	if (tail) {
		if (o + 7 > cap)
			return false;
		memcpy(out + o, "~splat~", 7);
		o += 7;
	}
	*len = o;
	return true;
}

/* The host an example request of r carries: r's own, a label before a
 * wildcard's suffix, or none. */
size_t detour_lint_example_host(const struct detour_ruleset *rs, const struct detour_rule *r,
                                char *out)
{
	size_t hl;
	const char *host = detour_ruleset_host(rs, r, &hl);

	if (hl == 0)
		return 0;
	if (r->flags & DETOUR_RULE_HOST_WILDCARD) {
		size_t pl = sizeof(PROBE) - 1;
		if (pl + hl >= HOST_BUF)
			return 0;
		memcpy(out, PROBE, pl);
		memcpy(out + pl, host, hl);
		return pl + hl;
	}
	memcpy(out, host, hl);
	return hl;
}
