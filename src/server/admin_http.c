/* detour server: the admin API's HTTP and JSON plumbing (admin_http.h):
 * responses queued on a connection, query strings, JSON bodies, times. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin_http.h"
#include "detour/respond.h"
#include "detour/rulefile.h"

#include "base/ascii.h"
#include "base/civil.h"
#include "base/grow.h"
#include "base/value.h"

/* ---- responses ------------------------------------------------------------ */

void admin_reply(struct aconn *c, int status, const char *ctype, const char *body, size_t len,
                 const char *extra)
{
	char head[512];
	char date[DETOUR_DATE_LEN + 1];
	int hl;

	civil_http_date(time(NULL), date);
	hl = snprintf(head, sizeof(head),
	              "HTTP/1.1 %d %s\r\nDate: %s\r\n%s%s%s%sContent-Length: %zu\r\n"
	              "Cache-Control: no-store\r\n%s\r\n",
	              status, detour_reason(status), date, ctype ? "Content-Type: " : "",
	              ctype ? ctype : "", ctype ? "\r\n" : "", extra ? extra : "", len,
	              c->close_after ? "Connection: close\r\n" : "");
	/* A HEAD answer is a GET's, Content-Length included, without the body
	 * (RFC 9110 §9.3.2). */
	size_t blen = c->head ? 0 : len;
	/* What is queued stays valid if the growth fails. */
	if (BASE_GROW(c->out, c->out_cap, c->out_len + (size_t)hl + blen)) {
		c->close_after = true;
		return;
	}
	memcpy(c->out + c->out_len, head, (size_t)hl);
	memcpy(c->out + c->out_len + hl, body, blen);
	c->out_len += (size_t)hl + blen;
}

void admin_reply_json(struct aconn *c, int status, json_t *j, const char *extra)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;

	if (j && s == NULL) {
		admin_reply(c, 500, NULL, "", 0, NULL);
	} else if (s) {
		size_t n = strlen(s);
		s[n] = '\0';
		char *nl = malloc(n + 1);
		if (nl) {
			memcpy(nl, s, n);
			nl[n] = '\n';
			admin_reply(c, status, "application/json", nl, n + 1, extra);
			free(nl);
		} else {
			admin_reply(c, 500, NULL, "", 0, NULL);
		}
	} else {
		admin_reply(c, status, NULL, "", 0, extra);
	}
	free(s);
	json_decref(j);
}

void admin_reply_error(struct aconn *c, int status, const char *msg)
{
	admin_reply_json(c, status, json_pack("{s:s}", "error", msg),
	                 status == 401 ? "WWW-Authenticate: Bearer realm=\"detour\"\r\n" : NULL);
}

void admin_reply_state_error(struct aconn *c, struct state *st, const char *msg)
{
	const char *cause;
	int status = state_error_status(st, &cause);

	/* A client may retry a 503 (the state is busy, or an operator makes
	 * it writable again); RFC 9110 §10.2.3. */
	admin_reply_json(c, status,
	                 json_pack("{s:s, s:s, s:b}", "error", msg, "cause", cause, "stored", 0),
	                 status == 503 ? "Retry-After: 10\r\n" : NULL);
}

bool admin_pct_decode(const char *src, size_t len, char *dst, bool plus)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char ch = src[i];
		if (ch == '%') {
			int hi, lo;
			if (i + 2 >= len)
				return false;
			hi = ascii_hexval((unsigned char)src[i + 1]);
			lo = ascii_hexval((unsigned char)src[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return false;
			dst[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			dst[o++] = plus && ch == '+' ? ' ' : ch;
		}
	}
	dst[o] = '\0';
	return true;
}

/* Finds key in the query string; decodes its value into buf. */
const char *admin_query_get(const struct detour_request *r, const char *key, char *buf, size_t cap)
{
	const char *p = r->query, *end = r->query ? r->query + r->query_len : NULL;
	size_t kl = strlen(key);

	while (p && p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *e = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(e - p));
		if (eq && (size_t)(eq - p) == kl && !memcmp(p, key, kl) &&
		    (size_t)(e - eq) <= cap &&
		    admin_pct_decode(eq + 1, (size_t)(e - eq - 1), buf, true))
			return buf;
		if (!eq && (size_t)(e - p) == kl && !memcmp(p, key, kl)) {
			buf[0] = '\0';
			return buf;
		}
		p = amp ? amp + 1 : end;
	}
	return NULL;
}

int64_t admin_query_int(const struct detour_request *r, const char *key, int64_t def, int64_t lo,
                        int64_t hi, bool *bad)
{
	char b[CIVIL_RFC3339_MAX];
	char *end;
	long long v;

	if (admin_query_get(r, key, b, sizeof(b)) == NULL)
		return def;
	errno = 0;
	v = strtoll(b, &end, 10);
	if (b[0] == '\0' || *end || errno || v < lo || v > hi) {
		*bad = true;
		return def;
	}
	return v;
}

/* ---- time ---------------------------------------------------------------- */

json_t *admin_json_time(int64_t t)
{
	char b[CIVIL_RFC3339_MAX];

	if (t <= 0)
		return json_null();
	civil_format_rfc3339(t, b);
	return json_string(b);
}

void admin_json_unused(json_t *arr, const char *id, const char *origin, int64_t h, int64_t l,
                       int64_t since, int64_t offset, int64_t limit, int64_t *total)
{
	if (l >= since)
		return;
	if (*total >= offset && *total < offset + limit)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:o}", "id", id, "origin",
		                                     origin, "hits", (json_int_t)h, "last_hit",
		                                     admin_json_time(l)));
	(*total)++;
}

/* ---- JSON bodies ---------------------------------------------------------- */

json_t *admin_body_object(struct ctx *x, const char *const *allowed)
{
	json_error_t e;
	json_t *j;
	const char *k;
	json_t *v;
	char msg[300];

	if (x->body_len == 0) {
		admin_reply_error(x->c, 400, "expected a JSON object in the body");
		return NULL;
	}
	j = json_loadb(x->body, x->body_len, JSON_REJECT_DUPLICATES, &e);
	if (j == NULL) {
		snprintf(msg, sizeof(msg), "invalid JSON at line %d, column %d: %s", e.line,
		         e.column, e.text);
		admin_reply_error(x->c, 400, msg);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		admin_reply_error(x->c, 400, "expected a JSON object in the body");
		return NULL;
	}
	json_object_foreach(j, k, v)
	{
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			ok = ok || !strcmp(k, allowed[i]);
		if (!ok) {
			snprintf(msg, sizeof(msg), "unknown field \"%.100s\"", k);
			admin_reply_error(x->c, 400, msg);
			json_decref(j);
			return NULL;
		}
	}
	return j;
}

/* "ttl" (a duration) or "until" (RFC 3339) into an absolute expiry; 0 when
 * neither. Returns -1 after answering 400. */
int admin_expiry_of(struct ctx *x, json_t *j, int64_t now, int64_t *expires)
{
	json_t *ttl = json_object_get(j, "ttl"), *until = json_object_get(j, "until");

	*expires = 0;
	if (ttl && !json_is_null(ttl) && until && !json_is_null(until)) {
		admin_reply_error(x->c, 400, "give \"ttl\" or \"until\", not both");
		return -1;
	}
	if (ttl && !json_is_null(ttl)) {
		const char *s = json_string_value(ttl);
		int64_t d = s ? value_duration(s, strlen(s)) : -1;
		if (d <= 0) {
			admin_reply_error(x->c, 400,
			                  "\"ttl\": expected a duration such as \"90s\", \"30m\", "
			                  "\"48h\" or \"7d\"");
			return -1;
		}
		*expires = now + d;
	} else if (until && !json_is_null(until)) {
		const char *s = json_string_value(until);
		if (s == NULL || civil_parse_rfc3339(s, strlen(s), expires)) {
			admin_reply_error(x->c, 400,
			                  "\"until\": expected an RFC 3339 time such as "
			                  "\"2026-12-01T00:00:00Z\"");
			return -1;
		}
		if (*expires <= now) {
			admin_reply_error(x->c, 400, "\"until\" is in the past");
			return -1;
		}
	}
	return 0;
}

void admin_json_unmatched(json_t *res, const struct detour_topk *m, int64_t top)
{
	json_t *um = json_array();

	for (unsigned i = 0; i < m->n && (int64_t)i < top; i++)
		json_array_append_new(um, json_pack("{s:s, s:I, s:I}", "path", m->e[i].key, "count",
		                                    (json_int_t)m->e[i].count, "error",
		                                    (json_int_t)m->e[i].error));
	json_object_set_new(res, "unmatched", um);
	json_object_set_new(res, "unmatched_total", json_integer((json_int_t)m->total));
}
