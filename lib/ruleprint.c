/* detour: a rule printed back in the rules-file language (ruleprint.h).
 * Everything is read from the model the parser filled (rule.h): the source
 * and target as stored, the extension's options one by one, the conditions
 * as they were written (struct detour_cond's text). Each option is printed
 * only when it differs from its default, so that the line reads as a person
 * would write it. */
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/civil.h"
#include "detour/rulefile.h"
#include "detour/ruleprint.h"
#include "detour/tz.h"

/* A lifetime in its largest whole unit ("1h", "7d", "90s"), as cache= and
 * value_duration() read it. */
static void put_duration(struct bbuf *b, int64_t s)
{
	static const struct {
		int64_t secs;
		char unit;
	} units[] = {{7 * 86400, 'w'}, {86400, 'd'}, {3600, 'h'}, {60, 'm'}};
	char u = 's';

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (s % units[i].secs == 0) {
			s /= units[i].secs;
			u = units[i].unit;
			break;
		}
	}
	bbuf_put_uint(b, (uint64_t)s);
	bbuf_putc(b, u);
}

static void put_time(struct bbuf *b, const char *opt, int64_t t)
{
	char s[CIVIL_RFC3339_MAX];

	civil_format_rfc3339(t, s);
	bbuf_puts(b, opt);
	bbuf_puts(b, s);
}

static void put_hhmm(struct bbuf *b, int32_t secs)
{
	char s[16];

	snprintf(s, sizeof(s), "%02d:%02d", (int)(secs / 3600), (int)(secs / 60 % 60));
	bbuf_puts(b, s);
}

/* days= as a comma-separated list of the set days ("mon,tue,fri"). */
static void put_days(struct bbuf *b, uint8_t mask)
{
	static const char names[] = "sunmontuewedthufrisat";
	bool first = true;

	BBUF_LIT(b, " days=");
	for (int d = 0; d < 7; d++) {
		if (!(mask & (1u << d)))
			continue;
		if (!first)
			bbuf_putc(b, ',');
		bbuf_put(b, names + 3 * d, 3);
		first = false;
	}
}

void detour_rule_format_source(const struct detour_ruleset *rs, const struct detour_rule *r,
                               struct bbuf *b)
{
	static const char *const schemes[] = {"//", "http://", "https://"};
	size_t hl;
	const char *host = detour_ruleset_host(rs, r, &hl);
	char buf[DETOUR_RULE_PACKED_MAX];
	const char *path = detour_rule_strings(rs, r, buf);

	if (r->kind == DETOUR_SRC_REGEX) {
		bbuf_putc(b, '~');
		bbuf_put(b, path, r->path_len);
		return;
	}
	if (hl) {
		bbuf_puts(b, schemes[r->scheme < 3 ? r->scheme : 0]);
		if (r->flags & DETOUR_RULE_HOST_WILDCARD)
			bbuf_putc(b, '*'); /* host holds ".example.com" */
		bbuf_put(b, host, hl);
	} else if (r->path_len >= 2 && path[0] == '/' && path[1] == '/') {
		/* "//a/b" would read as host "a": "/./" normalises back to "/"
		 * (fuzz_rulefile found it: "/9/..//a./b" is "//a./b") */
		BBUF_LIT(b, "/.");
	}
	bbuf_put(b, path, r->path_len);
	/* A splat source stores "/blog/"; a pattern with a tail keeps its '*'. */
	if (r->kind == DETOUR_SRC_SPLAT)
		bbuf_putc(b, '*');
}

/* The window options. A window whose days cover the week is stored as
 * days 0 (every day): it is printed "days=sun-sat" when nothing else would
 * show it (the rule would lose its window) or when tz= needs a days=. */
static void put_window(struct bbuf *b, const struct detour_window *w)
{
	if (w->from != DETOUR_TIME_NONE_FROM)
		put_time(b, " from=", w->from);
	if (w->until != DETOUR_TIME_NONE_UNTIL)
		put_time(b, " until=", w->until);
	if (w->days)
		put_days(b, w->days);
	else if (w->hour_from < 0 && (w->tz || (w->from == DETOUR_TIME_NONE_FROM &&
	                                        w->until == DETOUR_TIME_NONE_UNTIL)))
		BBUF_LIT(b, " days=sun-sat");
	if (w->hour_from >= 0) {
		BBUF_LIT(b, " hours=");
		put_hhmm(b, w->hour_from);
		bbuf_putc(b, '-');
		put_hhmm(b, w->hour_to);
	}
	if (w->tz) {
		BBUF_LIT(b, " tz=");
		bbuf_puts(b, detour_tz_name(w->tz));
	}
}

static void put_ext(struct bbuf *b, const struct detour_rule_ext *x)
{
	static const char *const sticky[] = {"none", "cookie", "ip"};
	bool private_default = x->weight > 0;

	for (unsigned i = 0; i < x->nconds; i++) {
		const struct detour_cond *c = &x->conds[i];
		bbuf_putc(b, ' ');
		bbuf_put(b, c->text.p, c->text.len);
		private_default |= c->kind != DETOUR_COND_METHOD;
	}
	if (x->flags & DETOUR_EXT_WINDOW)
		put_window(b, &x->window);
	if (x->weight) {
		BBUF_LIT(b, " weight=");
		bbuf_put_uint(b, x->weight);
	}
	if (x->sticky_set) {
		BBUF_LIT(b, " sticky=");
		bbuf_puts(b, sticky[x->sticky < 3 ? x->sticky : 0]);
	}
	if (x->health) {
		BBUF_LIT(b, " health=");
		bbuf_puts(b, x->health);
	}
	if (x->delay) {
		BBUF_LIT(b, " delay=");
		bbuf_put_uint(b, x->delay);
	}
	if (x->flags & DETOUR_EXT_CASE_I)
		BBUF_LIT(b, " case=insensitive");
	if (private_default && !(x->flags & DETOUR_EXT_PRIVATE))
		BBUF_LIT(b, " private=no");
	for (unsigned i = 0; i < x->nallow; i++) {
		bbuf_puts(b, i ? "," : " allow-hosts=");
		bbuf_put(b, x->allow_hosts[i].p, x->allow_hosts[i].len);
	}
}

size_t detour_rule_format(const struct detour_ruleset *rs, const struct detour_rule *r, char *out,
                          size_t cap)
{
	static const char *const query[] = {"", " query=drop", " query=merge"};
	const struct detour_rule_ext *x = detour_ruleset_ext(rs, r);
	struct bbuf b;
	char buf[DETOUR_RULE_PACKED_MAX];

	if (cap == 0)
		return 0;
	bbuf_fixed(&b, out, cap - 1);
	detour_rule_format_source(rs, r, &b);
	bbuf_putc(&b, ' ');
	if (r->target_len)
		bbuf_put(&b, detour_rule_strings(rs, r, buf) + r->path_len + 1, r->target_len);
	else
		bbuf_putc(&b, '-');
	bbuf_putc(&b, ' ');
	if (x && (x->flags & DETOUR_EXT_HTML))
		BBUF_LIT(&b, "html");
	else
		bbuf_put_uint(&b, r->status);
	bbuf_puts(&b, query[r->query < 3 ? r->query : 0]);
	if (detour_rule_cache(rs, r) == DETOUR_CACHE_NO_STORE) {
		BBUF_LIT(&b, " cache=no-store");
	} else if (detour_rule_cache(rs, r) > 0) {
		BBUF_LIT(&b, " cache=");
		put_duration(&b, detour_rule_cache(rs, r));
	}
	if (r->flags & DETOUR_RULE_ID_SET) {
		BBUF_LIT(&b, " id=");
		size_t il;
		const char *id = detour_ruleset_idval(rs, r, &il);
		bbuf_put(&b, id, il);
	}
	if (x)
		put_ext(&b, x);
	if (!bbuf_ok(&b)) {
		out[0] = '\0';
		return 0;
	}
	out[b.len] = '\0';
	return b.len;
}
