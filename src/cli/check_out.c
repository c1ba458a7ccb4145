/* detour check: output. A table for people (colour only on a terminal) or
 * one JSON object per URL and line (--json). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/civil.h"
#include "base/esc.h"
#include "check_out.h"
#include "check_util.h"
#include "cli_util.h"

/* ---- JSON ------------------------------------------------------------- */

/* Sets key k of o to v (a new reference); out of memory ends the run. */
static void set(json_t *o, const char *k, json_t *v)
{
	if (json_object_set_new(o, k, v))
		check_oom();
}

static json_t *new_object(void)
{
	json_t *o = json_object();
	if (!o)
		check_oom();
	return o;
}

/* A comma- or newline-separated list as a JSON array of strings: ','
 * keeps empty items (a Set-Cookie without a name), '\n' drops them. */
static json_t *jlist(const char *s, char sep)
{
	json_t *a = json_array();
	if (!a)
		check_oom();
	for (const char *p = s; p && *p;) {
		const char *e = strchr(p, sep);
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if ((l || sep == ',') && json_array_append_new(a, cli_json_strn(p, l)))
			check_oom();
		if (!e)
			break;
		p = e + 1;
	}
	return a;
}

static const char *as_name(enum detour_as as)
{
	return as == DETOUR_AS_CURL ? "curl" : "browser";
}

/* The certificate of an https hop (docs/check.md: "tls"), or null. */
static json_t *tls_json(const struct check_opts *o, const struct hop *h)
{
	if (!h->has_cert)
		return json_null();
	json_t *j = new_object();
	const struct detour_cert *x = &h->cert;
	char when[CIVIL_RFC3339_MAX];

	if (x->has_expiry)
		civil_format_rfc3339(x->not_after, when);
	set(j, "subject", cli_json_str(x->subject));
	set(j, "issuer", cli_json_str(x->issuer));
	set(j, "alt_names", cli_json_str(x->alt_names[0] ? x->alt_names : NULL));
	set(j, "not_after", cli_json_str(x->has_expiry ? when : x->expire));
	set(j, "days_left",
	    x->has_expiry ? json_integer(detour_cert_days_left(x->not_after, o->now))
	                  : json_null());
	set(j, "verified", json_boolean(h->cert_verified));
	return j;
}

/* Hop i (0-based) of a chain, as docs/check.md shows it. */
static json_t *hop_json(const struct check_opts *o, const struct hop *h, size_t i)
{
	json_t *j = new_object();
	const char *via = !h->followed  ? NULL
	                  : h->internal ? "hsts"
	                  : h->refresh  ? "refresh"
	                                : "location";

	set(j, "n", json_integer((json_int_t)i + 1));
	set(j, "method", cli_json_str(h->method));
	set(j, "url", cli_json_str(h->url));
	set(j, "status", h->status ? json_integer(h->status) : json_null());
	set(j, "reason", cli_json_str(h->status ? h->reason : NULL));
	set(j, "protocol", cli_json_str(h->status && !h->internal ? h->protocol : NULL));
	set(j, "internal", json_boolean(h->internal));
	set(j, "body_sent", json_boolean(h->body_sent));
	set(j, "location", cli_json_str(h->loc_raw));
	set(j, "next", cli_json_str(h->loc_resolved));
	set(j, "via", cli_json_str(via));
	set(j, "note", cli_json_str(h->note[0] ? h->note : NULL));
	set(j, "cache", cli_json_str(h->cache[0] ? h->cache : NULL));
	set(j, "sts", cli_json_str(h->sts));
	set(j, "sts_note", cli_json_str(h->sts_note[0] ? h->sts_note : NULL));
	set(j, "set_cookie", jlist(h->cookies, ','));
	set(j, "vary", cli_json_str(h->vary));
	if (h->has_refresh) {
		json_t *r = new_object();
		set(r, "delay", json_integer(h->refresh_delay));
		set(r, "url", cli_json_str(h->refresh_url));
		set(r, "source", json_string(h->refresh_meta ? "meta" : "header"));
		set(j, "refresh", r);
	} else {
		set(j, "refresh", json_null());
	}
	/* Milliseconds, to the microsecond. */
	set(j, "time_ms", json_real(h->internal ? 0.0 : round(h->ms * 1e3) / 1e3));
	set(j, "request_headers", jlist(h->req_headers, '\n'));
	if (o->include)
		set(j, "response_headers", jlist(h->resp_head, '\n'));
	set(j, "error", cli_json_str(h->error));
	set(j, "tls", tls_json(o, h));
	return j;
}

static json_t *finding_json(const struct finding *x)
{
	json_t *j = new_object();
	enum detour_severity s = detour_finding_severity(x->code);

	set(j, "code", json_string(detour_finding_code(x->code)));
	set(j, "severity", json_string(detour_severity_name(s)));
	set(j, "hop", x->hop ? json_integer(x->hop) : json_null());
	set(j, "message", cli_json_str(x->msg));
	set(j, "help", cli_json_str(detour_finding_help(x->code)));
	return j;
}

/* One line: the chain as one JSON object (docs/check.md). */
static void print_json(const struct check_opts *o, const struct chain *c, FILE *f)
{
	json_t *j = new_object(), *hops = json_array(), *findings = json_array();
	bool ended = c->nh && !c->failed && !c->net_error;
	bool ok = !c->net_error && !c->bad_input;

	if (!hops || !findings)
		check_oom();
	for (size_t i = 0; i < c->nh; i++)
		if (json_array_append_new(hops, hop_json(o, &c->h[i], i)))
			check_oom();
	for (size_t i = 0; i < c->nf; i++) {
		if (detour_finding_severity(c->f[i].code) == DETOUR_SEV_ERROR)
			ok = false;
		if (json_array_append_new(findings, finding_json(&c->f[i])))
			check_oom();
	}
	set(j, "url", cli_json_str(c->url));
	if (c->label)
		set(j, "rule", cli_json_str(c->label));
	set(j, "as", json_string(as_name(o->as)));
	set(j, "hops", hops);
	set(j, "final_status",
	    c->final_status && ended ? json_integer(c->final_status) : json_null());
	set(j, "final_url", cli_json_str(ended ? c->h[c->nh - 1].url : NULL));
	set(j, "redirects", json_integer(c->redirects));
	set(j, "requests", json_integer((json_int_t)c->nh));
	set(j, "findings", findings);
	set(j, "ok", json_boolean(ok));
	if (cli_json_print(j, f))
		check_oom();
}

/* ---- table ------------------------------------------------------------ */

/* The certificate line of an https hop. */
static void pe(FILE *f, const char *s);

static void print_cert(const struct check_opts *o, const struct hop *h, FILE *f)
{
	const struct detour_cert *x = &h->cert;
	char when[CIVIL_RFC3339_MAX];

	/* OpenSSL escapes control bytes in names; the escaper covers the rest. */
	fprintf(f, "        certificate: ");
	pe(f, x->subject);
	fprintf(f, "; issuer ");
	pe(f, x->issuer);
	fprintf(f, "; ");
	if (x->has_expiry) {
		int64_t days = detour_cert_days_left(x->not_after, o->now);
		civil_format_rfc3339(x->not_after, when);
		if (days >= 0)
			fprintf(f, "expires %s (%lld day%s left)", when, (long long)days,
			        days == 1 ? "" : "s");
		else
			fprintf(f, "expired %s", when);
	} else {
		fprintf(f, "expires ");
		pe(f, x->expire);
	}
	fprintf(f, "%s\n", h->cert_verified ? "" : "; not verified");
}

struct pal {
	const char *ok, *redir, *err, *internal, *dim, *bold, *warn, *off;
};

/* Writes s to f with lib/base/esc.c's terminal escape: every string of the
 * table that a server, an input file or the command line supplied goes
 * through here (reason phrases, URLs, Location, STS, cookie names, Vary,
 * refresh URLs, errors, finding messages), so a hostile server cannot send
 * control sequences to the terminal. NULL prints nothing. */
static void pe(FILE *f, const char *s)
{
	struct bbuf b;

	if (s == NULL)
		return;
	bbuf_init(&b, SIZE_MAX / 2);
	esc_term(&b, s, strlen(s));
	if (!bbuf_ok(&b))
		check_oom();
	fwrite(b.p, 1, b.len, f);
	bbuf_free(&b);
}

/* One line under a hop: label, then v escaped. */
static void field(FILE *f, const char *label, const char *v)
{
	fputs("        ", f);
	fputs(label, f);
	pe(f, v);
	fputc('\n', f);
}

/* pe() for a field padded with spaces to width columns (counted in bytes of
 * the escaped text, as printf's %-*s counts). */
static void pe_pad(FILE *f, const char *s, int width)
{
	struct bbuf b;

	bbuf_init(&b, SIZE_MAX / 2);
	esc_term(&b, s, strlen(s));
	if (!bbuf_ok(&b))
		check_oom();
	fprintf(f, "%-*s", width, bbuf_cstr(&b));
	bbuf_free(&b);
}

/* Whether hops a and b asked the same (method, URL without fragment) and
 * got the same answer (status, Location). */
static bool same_hop(const struct hop *a, const struct hop *b)
{
	size_t al = strcspn(a->url, "#"), bl = strcspn(b->url, "#");
	return !strcmp(a->method, b->method) && al == bl && !strncmp(a->url, b->url, al) &&
	       a->status == b->status && !a->internal && !b->internal &&
	       !strcmp(a->loc_raw ? a->loc_raw : "", b->loc_raw ? b->loc_raw : "");
}

/* A redirect loop's repetition, for the table to show once: hops
 * [*from, *to) (0-based) repeat hops [*from - *period, *from), hop by hop.
 * Returns false when no stretch of at least two hops repeats. */
static bool find_repeat(const struct chain *c, size_t *from, size_t *to, size_t *period)
{
	for (size_t j = 1; j < c->nh; j++)
		for (size_t i = 0; i < j; i++) {
			if (!same_hop(&c->h[i], &c->h[j]))
				continue;
			size_t p = j - i, m = j;
			while (m < c->nh && same_hop(&c->h[m], &c->h[m - p]))
				m++;
			if (m - j < 2 || m - j < p)
				return false;
			*from = j;
			*to = m;
			*period = p;
			return true;
		}
	return false;
}

/* Whether finding x is on a hop of the repetition [from, to) and says the
 * same as a finding one period earlier (so the table leaves it out). */
static bool repeated_finding(const struct chain *c, const struct finding *x, size_t from, size_t to,
                             size_t period)
{
	if (x->hop <= 0 || (size_t)x->hop - 1 < from || (size_t)x->hop - 1 >= to)
		return false;
	for (size_t k = 0; k < c->nf; k++)
		if (c->f[k].code == x->code && (size_t)c->f[k].hop == (size_t)x->hop - period &&
		    !strcmp(c->f[k].msg, x->msg))
			return true;
	return false;
}

/* --include: the response's head, one escaped line each after "< ". */
static void print_head(FILE *f, const char *head)
{
	for (const char *p = head; p && *p;) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		struct bbuf b;
		bbuf_init(&b, SIZE_MAX / 2);
		esc_term(&b, p, l);
		if (!bbuf_ok(&b))
			check_oom();
		fprintf(f, "        < %s\n", bbuf_cstr(&b));
		bbuf_free(&b);
		p = e ? e + 1 : p + l;
	}
}

static void print_table(const struct check_opts *o, const struct chain *c, FILE *f)
{
	size_t rep_from = 0, rep_to = 0, period = 0;
	bool rep = find_repeat(c, &rep_from, &rep_to, &period);

	static const struct pal colour = {"\033[32m", "\033[36m", "\033[31m", "\033[33m",
	                                  "\033[2m",  "\033[1m",  "\033[33m", "\033[0m"};
	static const struct pal plain = {"", "", "", "", "", "", "", ""};
	const struct pal *P = o->color ? &colour : &plain;

	fputs(P->bold, f);
	pe(f, c->url);
	fputs(P->off, f);
	if (c->label) {
		fputs("  (rule ", f);
		pe(f, c->label);
		fputc(')', f);
	}
	fprintf(f, "  %s[as %s]%s\n", P->dim, as_name(o->as), P->off);
	for (size_t i = 0; i < c->nh; i++) {
		const struct hop *h = &c->h[i];
		if (rep && i == rep_from) {
			size_t a = rep_from - period + 1, b = rep_from;
			fprintf(f, "  %zu-%zu  %s", rep_from + 1, rep_to, P->dim);
			if (a == b)
				fprintf(f, "hop %zu", a);
			else
				fprintf(f, "hops %zu-%zu", a, b);
			fprintf(f, " again and again (%zu hops not shown)%s\n", rep_to - rep_from,
			        P->off);
			i = rep_to - 1;
			continue;
		}
		const char *sc = h->internal                      ? P->internal
		                 : h->status >= 400 || !h->status ? P->err
		                 : h->status >= 300               ? P->redir
		                                                  : P->ok;
		char status[96];
		if (h->status)
			snprintf(status, sizeof(status), "%d %s", h->status, h->reason);
		else
			snprintf(status, sizeof(status), "no response");
		fprintf(f, "  %2zu  ", i + 1);
		pe_pad(f, h->method, 7);
		fprintf(f, " %s", sc);
		pe_pad(f, status, 26);
		fprintf(f, "%s ", P->off);
		pe(f, h->url);
		if (!h->internal)
			fprintf(f, "  %s%.0f ms%s", P->dim, h->ms, P->off);
		fputc('\n', f);
		/* The protocol of every hop when asked for one (--http2,
		 * --http1.1), else when it is not HTTP/1.1. */
		if (h->status && !h->internal && h->protocol &&
		    (o->http_version || strcmp(h->protocol, "HTTP/1.1")))
			fprintf(f, "        protocol: %s\n", h->protocol);
		print_head(f, h->resp_head);
		if (h->body_sent)
			fprintf(f, "        %sbody: %zu bytes sent%s\n", P->dim, o->body_len,
			        P->off);
		if (h->error) {
			fprintf(f, "        %serror: ", P->err);
			pe(f, h->error);
			fprintf(f, "%s\n", P->off);
		}
		if (h->has_cert)
			print_cert(o, h, f);
		if (h->loc_raw) {
			fputs("        Location: ", f);
			pe(f, h->loc_raw);
			if (h->loc_resolved && strcmp(h->loc_resolved, h->loc_raw)) {
				fputs("  ->  ", f);
				pe(f, h->loc_resolved);
			}
			fputc('\n', f);
		} else if (h->internal && h->loc_resolved) {
			fputs("        Location: ", f);
			pe(f, h->loc_resolved);
			fputc('\n', f);
		}
		if (h->has_refresh) {
			fprintf(f, "        refresh (%s): after %u s to ",
			        h->refresh_meta ? "meta" : "header", h->refresh_delay);
			pe(f, h->refresh_url ? h->refresh_url : "(the same page)");
			fputc('\n', f);
		}
		if (h->cache[0])
			field(f, "cache: ", h->cache);
		if (h->sts) {
			fputs("        Strict-Transport-Security: ", f);
			pe(f, h->sts);
			if (h->sts_note[0])
				fprintf(f, " (%s)", h->sts_note);
			fputc('\n', f);
		}
		if (h->cookies)
			field(f, "Set-Cookie: ", h->cookies);
		if (h->vary)
			field(f, "Vary: ", h->vary);
		if (h->note[0]) {
			fprintf(f, "        %snext: ", P->dim);
			pe(f, h->note);
			fprintf(f, "%s\n", P->off);
		}
	}
	if (c->bad_input)
		fprintf(f, "  = %snot requested%s", P->err, P->off);
	else if (c->net_error)
		fprintf(f, "  = %snetwork error%s", P->err, P->off);
	else if (c->failed)
		fprintf(f, "  = %sfailed%s", P->err, P->off);
	else if (c->nh) {
		fprintf(f, "  = %d ", c->final_status);
		pe(f, c->h[c->nh - 1].reason);
	}
	/* Only the redirects followed are counted: --against stops at the
	 * first response, a loop at the limit. */
	if (c->redirects)
		fprintf(f, " after %d redirect%s", c->redirects, c->redirects == 1 ? "" : "s");
	if (!c->bad_input)
		fprintf(f, " (%zu request%s)", c->nh, c->nh == 1 ? "" : "s");
	fputc('\n', f);
	for (size_t i = 0; i < c->nf; i++) {
		const struct finding *x = &c->f[i];
		if (rep && repeated_finding(c, x, rep_from, rep_to, period))
			continue;
		enum detour_severity s = detour_finding_severity(x->code);
		const char *col = s == DETOUR_SEV_ERROR     ? P->err
		                  : s == DETOUR_SEV_WARNING ? P->warn
		                                            : P->dim;
		fprintf(f, "  %s%-7s%s %s", col, detour_severity_name(s), P->off,
		        detour_finding_code(x->code));
		if (x->hop)
			fprintf(f, " (hop %d)", x->hop);
		fputs(": ", f);
		pe(f, x->msg);
		fputc('\n', f);
		if (s != DETOUR_SEV_INFO)
			fprintf(f, "          %s%s%s\n", P->dim, detour_finding_help(x->code),
			        P->off);
	}
	fputc('\n', f);
}

void check_print_chain(struct check_opts *o, struct chain *c)
{
	int rc = 0;
	for (size_t i = 0; i < c->nf; i++)
		if (detour_finding_severity(c->f[i].code) == DETOUR_SEV_ERROR)
			rc = 1;
	if (c->net_error || c->bad_input)
		rc = 2;
	o->nprinted++;
	o->nbad += rc != 0;
	o->nnet += c->net_error;
	if (rc > o->exit_code)
		o->exit_code = rc;
	if (o->json)
		print_json(o, c, stdout);
	else
		print_table(o, c, stdout);
	fflush(stdout);
}
