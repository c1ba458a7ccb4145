/* detour server: GET/POST /maintenance (validated here, stored by the
 * admin's store) and the API's maintenance row's encoding (admin_maint.h).
 * maint.c decides what applies. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "admin_http.h"
#include "admin_maint.h"
#include "admin_rules.h"
#include "base/buf.h"
#include "base/value.h"

/* ---- maintenance ----------------------------------------------------------
 * The state's maintenance row keeps what the API set last (maint.c decides
 * what applies). Its columns predate Retry-After and allow-ip: those ride in
 * `allow` as lines "@ip CIDR" and "@retry-after VALUE" beside the path
 * sources (a rule source never starts with '@'). since 0 means nothing is
 * stored: a later change by the config, the file or SIGUSR2 superseded it. */

void admin_maint_row_to_params(const struct maint_state *m, struct maint_params *p)
{
	size_t used = 0;

	memset(p, 0, sizeof(*p));
	snprintf(p->target, sizeof(p->target), "%s", m->target);
	p->status = m->status;
	for (const char *s = m->allow; *s;) {
		size_t l = strcspn(s, "\n");
		if (l > 4 && !memcmp(s, "@ip ", 4)) {
			if (p->nallow_ip < DETOUR_CONF_MAX_CIDRS &&
			    detour_conf_cidr_parse(s + 4, l - 4, &p->allow_ip[p->nallow_ip]) ==
			            DETOUR_OK)
				p->nallow_ip++;
		} else if (l > 13 && !memcmp(s, "@retry-after ", 13)) {
			snprintf(p->retry_after, sizeof(p->retry_after), "%.*s", (int)(l - 13),
			         s + 13);
		} else if (l > 6 && !memcmp(s, "@page ", 6)) {
			snprintf(p->page, sizeof(p->page), "%.*s", (int)(l - 6), s + 6);
		} else if (l > 0 && used + l + 2 <= sizeof(p->allow_path)) {
			memcpy(p->allow_path + used, s, l);
			used += l;
			p->allow_path[used++] = '\n';
			p->allow_path[used] = '\0';
		}
		s += l + (s[l] == '\n');
	}
}

/* Returns 0, or -1 when it does not fit in the allow column (4 KiB). */
static int params_to_row(const struct maint_params *p, struct maint_state *m)
{
	struct bbuf b;

	snprintf(m->target, sizeof(m->target), "%s", p->target);
	m->status = p->status;
	bbuf_fixed(&b, m->allow, sizeof(m->allow) - 1); /* and the NUL */
	bbuf_puts(&b, p->allow_path);
	for (unsigned i = 0; i < p->nallow_ip; i++) {
		char c[CIDR_TEXT_MAX];
		cidr_format(&p->allow_ip[i], c);
		BBUF_LIT(&b, "@ip ");
		bbuf_puts(&b, c);
		bbuf_putc(&b, '\n');
	}
	if (p->retry_after[0]) {
		BBUF_LIT(&b, "@retry-after ");
		bbuf_puts(&b, p->retry_after);
		bbuf_putc(&b, '\n');
	}
	if (p->page[0]) {
		BBUF_LIT(&b, "@page ");
		bbuf_puts(&b, p->page);
		bbuf_putc(&b, '\n');
	}
	m->allow[b.len] = '\0';
	return bbuf_ok(&b) ? 0 : -1;
}

static json_t *maint_json(const struct maint_status *m)
{
	json_t *allow = json_array();

	if (!m->on)
		return json_pack("{s:b, s:o}", "on", 0, "allow", allow);
	for (const char *p = m->p.allow_path; *p;) {
		size_t l = strcspn(p, "\n");
		if (l)
			json_array_append_new(allow, json_stringn(p, l));
		p += l + (p[l] == '\n');
	}
	json_t *ips = json_array();
	for (unsigned i = 0; i < m->p.nallow_ip; i++) {
		char c[CIDR_TEXT_MAX];
		cidr_format(&m->p.allow_ip[i], c);
		json_array_append_new(ips, json_string(c));
	}
	return json_pack("{s:b, s:s, s:i, s:o, s:o, s:o, s:o, s:s, s:s, s:o, s:o}", "on", 1,
	                 "target", m->p.target, "status", m->p.status, "allow", allow, "allow_ip",
	                 ips, "since", admin_json_time(m->since), "until",
	                 admin_json_time(m->until), "who", m->who, "source",
	                 maint_source_names[m->source], "retry_after",
	                 m->p.retry_after[0] ? json_string(m->p.retry_after) : json_null(), "page",
	                 m->p.page[0] ? json_string(m->p.page) : json_null());
}

json_t *admin_maint_now_json(struct admin *a)
{
	struct maint_status ms;

	maint_get(a->srv->maint, &ms);
	return maint_json(&ms);
}

void admin_get_maintenance(struct ctx *x)
{
	admin_reply_json(x->c, 200, admin_maint_now_json(x->a), NULL);
}

void admin_maint_record(void *arg, const struct maint_status *ms)
{
	struct admin *a = arg;
	struct maint_state m;
	char detail[64];

	memset(&m, 0, sizeof(m));
	m.on = ms->on;
	m.status = 307;
	snprintf(m.who, sizeof(m.who), "%s", ms->who);
	snprintf(detail, sizeof(detail), "%s by %s", ms->on ? "on" : "off",
	         maint_source_names[ms->source]);
	a->store->record_maint(a, &m, detail);
}

/* A target on this server ("/maintenance.html"), not "//host". */
static bool local_target(const char *t)
{
	return t[0] == '/' && t[1] != '/';
}

/* The body's "target", "status" and "page" over the defaults in p (have:
 * there are defaults). Returns NULL, or the 400's message. */
static const char *body_answer(json_t *j, bool have, struct maint_params *p)
{
	json_t *tv = json_object_get(j, "target"), *sv = json_object_get(j, "status"),
	       *pv = json_object_get(j, "page");
	const char *t = json_string_value(tv);

	if (tv == NULL && have) {
		/* the defaults' target */
	} else if (tv == NULL && sv && json_is_integer(sv) && json_integer_value(sv) == 503) {
		snprintf(p->target, sizeof(p->target), "-"); /* a 503 needs none */
	} else if (t == NULL || t[0] == '\0' || strlen(t) >= sizeof(p->target) ||
	           strpbrk(t, " \t\r\n")) {
		return "\"target\": expected a URL or a path, or \"-\" with status 503 (required "
		       "when detour.conf has no maintenance directive)";
	} else {
		snprintf(p->target, sizeof(p->target), "%s", t);
		/* A new target takes the status that goes with it. */
		if (!strcmp(t, "-"))
			p->status = 503;
		else if (p->status == 503)
			p->status = 307;
		/* The default page goes with the default target only. */
		if (!local_target(t) && strcmp(t, "-"))
			p->page[0] = '\0';
	}
	if (sv) {
		json_int_t sc = json_is_integer(sv) ? json_integer_value(sv) : 0;
		if (sc != 302 && sc != 303 && sc != 307 && sc != 503)
			return "\"status\": expected 302, 303 or 307 (temporary), or 503 (a page)";
		p->status = (int)sc;
	}
	if (p->status == 503 && strcmp(p->target, "-"))
		return "\"status\": 503 answers with a page, not a redirect: \"target\" is \"-\" "
		       "or left out";
	if (p->status != 503 && !strcmp(p->target, "-"))
		return "\"target\": \"-\" (no target) goes with status 503";
	if (pv) {
		/* The server reads the file and serves it to everyone: an
		 * absolute path to an HTML file, so that a key or a token file
		 * cannot be published through the API. */
		const char *f = json_string_value(pv);
		size_t fl = f ? strlen(f) : 0;
		if (json_is_null(pv)) {
			p->page[0] = '\0';
		} else if (f == NULL || f[0] != '/' || fl >= sizeof(p->page) ||
		           !((fl > 5 && !strcmp(f + fl - 5, ".html")) ||
		             (fl > 4 && !strcmp(f + fl - 4, ".htm")))) {
			return "\"page\": expected the absolute path of an .html file on the "
			       "server, "
			       "or null";
		} else {
			snprintf(p->page, sizeof(p->page), "%s", f);
		}
	}
	if (p->page[0] && p->status != 503 && !local_target(p->target))
		return "\"page\": served at a target on this server (\"/maintenance.html\") or "
		       "with status 503";
	return NULL;
}

void admin_post_maintenance(struct ctx *x)
{
	static const char *const allowed[] = {"on",  "target", "status", "allow",       "allow_ip",
	                                      "ttl", "until",  "page",   "retry_after", NULL};
	struct admin *a = x->a;
	json_t *j = admin_body_object(x, allowed), *v;
	struct maint_state m;
	struct maint_params p;
	struct maint_page *pg = NULL; /* p.page's bytes, read here once */
	size_t i;
	int64_t now = now_sec();
	char err[600];
	const char *bad = NULL;

	if (j == NULL)
		return;
	memset(&m, 0, sizeof(m));
	memset(&p, 0, sizeof(p));
	v = json_object_get(j, "on");
	if (!json_is_boolean(v)) {
		json_decref(j);
		admin_reply_error(x->c, 400, "\"on\": expected true or false");
		return;
	}
	m.on = json_is_true(v);
	p.status = 307;
	m.since = now;
	snprintf(m.who, sizeof(m.who), "%s", x->who);
	if (m.on) {
		/* The config's maintenance directive (else the API's last one)
		 * gives every parameter the body does not: naming another target
		 * keeps the allow lists, so a load balancer's health probe is not
		 * redirected (issue 11). "allow": [] clears them. */
		bool have = maint_defaults(a->srv->maint, &p);
		const char *why = body_answer(j, have, &p);
		if (why) {
			json_decref(j);
			admin_reply_error(x->c, 400, why);
			return;
		}
		v = json_object_get(j, "allow");
		if (v) {
			json_t *e;
			size_t used = 0;
			p.allow_path[0] = '\0'; /* the body's list replaces the default one */
			if (!json_is_array(v)) {
				json_decref(j);
				admin_reply_error(x->c, 400,
				                  "\"allow\": expected an array of rule sources");
				return;
			}
			json_array_foreach(v, i, e)
			{
				const char *q = json_string_value(e);
				size_t l = q ? strlen(q) : 0;
				if (q == NULL || l == 0 || q[0] == '@' || strpbrk(q, " \t\r\n") ||
				    used + l + 2 > sizeof(p.allow_path)) {
					json_decref(j);
					admin_reply_error(x->c, 400,
					                  "\"allow\": expected sources such as "
					                  "\"/status\" or "
					                  "\"/api/*\" (4 KiB in all)");
					return;
				}
				memcpy(p.allow_path + used, q, l);
				used += l;
				p.allow_path[used++] = '\n';
				p.allow_path[used] = '\0';
			}
		}
		/* allow_ip: client ranges that keep their normal rules. */
		v = json_object_get(j, "allow_ip");
		if (v) {
			json_t *e;
			p.nallow_ip = 0; /* replaces the default list */
			if (!json_is_array(v) || json_array_size(v) > DETOUR_CONF_MAX_CIDRS)
				bad = "\"allow_ip\": expected an array of at most 64 addresses or "
				      "CIDR "
				      "ranges";
			json_array_foreach(v, i, e)
			{
				const char *q = json_string_value(e);
				if (bad == NULL &&
				    (q == NULL || detour_conf_cidr_parse(
				                          q, strlen(q),
				                          &p.allow_ip[p.nallow_ip++]) != DETOUR_OK))
					bad = "\"allow_ip\": expected addresses or CIDR ranges "
					      "(10.0.0.0/8, 2001:db8::/32) with no bits past the "
					      "prefix";
			}
		}
		/* retry_after: seconds (a number or digits) or an HTTP-date. */
		v = json_object_get(j, "retry_after");
		if (v && bad == NULL) {
			if (json_is_integer(v) && json_integer_value(v) >= 0 &&
			    json_integer_value(v) <= 9999999999LL)
				snprintf(p.retry_after, sizeof(p.retry_after), "%lld",
				         (long long)json_integer_value(v));
			else if (json_is_string(v) &&
			         value_retry_after(json_string_value(v), json_string_length(v)))
				snprintf(p.retry_after, sizeof(p.retry_after), "%s",
				         json_string_value(v));
			else
				bad = "\"retry_after\": expected seconds or an HTTP-date (Sun, 06 "
				      "Nov "
				      "1994 08:49:37 GMT)";
		}
		if (bad) {
			json_decref(j);
			admin_reply_error(x->c, 400, bad);
			return;
		}
		if (admin_expiry_of(x, j, now, &m.until)) {
			json_decref(j);
			return;
		}
		/* The page is read now, not per request: a missing or too large
		 * file is a 400 that names it. */
		if (maint_page_read(p.page, &pg, err, sizeof(err)) ||
		    maint_check(&p, pg, err, sizeof(err))) {
			json_decref(j);
			maint_page_free(pg);
			admin_reply_error(x->c, 400, err);
			return;
		}
		if (params_to_row(&p, &m)) {
			json_decref(j);
			maint_page_free(pg);
			admin_reply_error(x->c, 400,
			                  "\"allow\", \"allow_ip\", \"page\": over 4 KiB in all");
			return;
		}
	}
	json_decref(j);
	char detail[MAINT_TARGET_MAX + 64];
	snprintf(detail, sizeof(detail), m.on ? "on %s %d" : "off", p.target, p.status);
	a->store->set_maint(x, &m, &p, pg, detail);
}
