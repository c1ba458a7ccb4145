/* detour check: output. A table for people (colour only on a terminal) or
 * one JSON object per URL and line (--json). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_out.h"
#include "check_util.h"

/* ---- JSON ------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s[0..n), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t k;
	unsigned c = s[0];
	unsigned min;
	if (c >= 0xC2 && c <= 0xDF) {
		k = 2;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		k = 3;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		k = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < k)
		return 0;
	unsigned cp = c & (0x3Fu >> (k - 1));
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3Fu);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return k;
}

/* Writes s as a JSON string (RFC 8259 §7); bytes that are not UTF-8 are
 * written as the code point of the same value (Latin-1), so the output is
 * always valid JSON. NULL is written as null. */
static void jstr(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	fputc('"', f);
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
			i++;
		} else if (c == '\n') {
			fputs("\\n", f);
			i++;
		} else if (c == '\r') {
			fputs("\\r", f);
			i++;
		} else if (c == '\t') {
			fputs("\\t", f);
			i++;
		} else if (c < 0x20 || c == 0x7F) {
			fprintf(f, "\\u%04x", c);
			i++;
		} else if (c < 0x80) {
			fputc(c, f);
			i++;
		} else {
			size_t k = utf8_len(p + i, n - i);
			if (k) {
				fwrite(p + i, 1, k, f);
				i += k;
			} else {
				fprintf(f, "\\u%04x", c);
				i++;
			}
		}
	}
	fputc('"', f);
}

/* A comma- or newline-separated list as a JSON array of strings. */
static void jlist(FILE *f, const char *s, char sep)
{
	fputc('[', f);
	if (s && *s) {
		const char *p = s;
		bool first = true;
		while (*p) {
			const char *e = strchr(p, sep);
			size_t l = e ? (size_t)(e - p) : strlen(p);
			if (l || sep == ',') {
				char *item = check_strndup(p, l);
				if (!first)
					fputc(',', f);
				jstr(f, item);
				free(item);
				first = false;
			}
			if (!e)
				break;
			p = e + 1;
		}
	}
	fputc(']', f);
}

static const char *as_name(enum detour_as as)
{
	return as == DETOUR_AS_CURL ? "curl" : "browser";
}

static void print_json(const struct check_opts *o, const struct chain *c, FILE *f)
{
	fputs("{\"url\":", f);
	jstr(f, c->url);
	if (c->label) {
		fputs(",\"rule\":", f);
		jstr(f, c->label);
	}
	fprintf(f, ",\"as\":\"%s\",\"hops\":[", as_name(o->as));
	for (size_t i = 0; i < c->nh; i++) {
		const struct hop *h = &c->h[i];
		if (i)
			fputc(',', f);
		fprintf(f, "{\"n\":%zu,\"method\":", i + 1);
		jstr(f, h->method);
		fputs(",\"url\":", f);
		jstr(f, h->url);
		if (h->status)
			fprintf(f, ",\"status\":%d", h->status);
		else
			fputs(",\"status\":null", f);
		fputs(",\"reason\":", f);
		jstr(f, h->status ? h->reason : NULL);
		fprintf(f, ",\"internal\":%s,\"body_sent\":%s", h->internal ? "true" : "false",
		        h->body_sent ? "true" : "false");
		fputs(",\"location\":", f);
		jstr(f, h->loc_raw);
		fputs(",\"next\":", f);
		jstr(f, h->loc_resolved);
		fputs(",\"via\":", f);
		jstr(f, !h->followed
		                ? NULL
		                : (h->internal ? "hsts" : (h->refresh ? "refresh" : "location")));
		fputs(",\"note\":", f);
		jstr(f, h->note[0] ? h->note : NULL);
		fputs(",\"cache\":", f);
		jstr(f, h->cache[0] ? h->cache : NULL);
		fputs(",\"sts\":", f);
		jstr(f, h->sts);
		fputs(",\"sts_note\":", f);
		jstr(f, h->sts_note[0] ? h->sts_note : NULL);
		fputs(",\"set_cookie\":", f);
		jlist(f, h->cookies, ',');
		fputs(",\"vary\":", f);
		jstr(f, h->vary);
		if (h->has_refresh) {
			fprintf(f, ",\"refresh\":{\"delay\":%u,\"url\":", h->refresh_delay);
			jstr(f, h->refresh_url);
			fprintf(f, ",\"source\":\"%s\"}", h->refresh_meta ? "meta" : "header");
		} else {
			fputs(",\"refresh\":null", f);
		}
		fprintf(f, ",\"time_ms\":%.3f,\"request_headers\":", h->internal ? 0.0 : h->ms);
		jlist(f, h->req_headers, '\n');
		fputs(",\"error\":", f);
		jstr(f, h->error);
		fputc('}', f);
	}
	fputs("],\"final_status\":", f);
	if (c->final_status && !c->failed && !c->net_error)
		fprintf(f, "%d", c->final_status);
	else
		fputs("null", f);
	fputs(",\"final_url\":", f);
	jstr(f, c->nh && !c->failed && !c->net_error ? c->h[c->nh - 1].url : NULL);
	fprintf(f, ",\"redirects\":%d,\"requests\":%zu,\"findings\":[", c->redirects, c->nh);
	bool ok = !c->net_error && !c->bad_input;
	for (size_t i = 0; i < c->nf; i++) {
		const struct finding *x = &c->f[i];
		enum detour_severity s = detour_finding_severity(x->code);
		if (s == DETOUR_SEV_ERROR)
			ok = false;
		if (i)
			fputc(',', f);
		fprintf(f, "{\"code\":\"%s\",\"severity\":\"%s\",\"hop\":",
		        detour_finding_code(x->code), detour_severity_name(s));
		if (x->hop)
			fprintf(f, "%d", x->hop);
		else
			fputs("null", f);
		fputs(",\"message\":", f);
		jstr(f, x->msg);
		fputs(",\"help\":", f);
		jstr(f, detour_finding_help(x->code));
		fputc('}', f);
	}
	fprintf(f, "],\"ok\":%s}\n", ok ? "true" : "false");
}

/* ---- table ------------------------------------------------------------ */

struct pal {
	const char *ok, *redir, *err, *internal, *dim, *bold, *warn, *off;
};

static void print_table(const struct check_opts *o, const struct chain *c, FILE *f)
{
	static const struct pal colour = {"\033[32m", "\033[36m", "\033[31m", "\033[33m",
	                                  "\033[2m",  "\033[1m",  "\033[33m", "\033[0m"};
	static const struct pal plain = {"", "", "", "", "", "", "", ""};
	const struct pal *P = o->color ? &colour : &plain;

	fprintf(f, "%s%s%s", P->bold, c->url, P->off);
	if (c->label)
		fprintf(f, "  (rule %s)", c->label);
	fprintf(f, "  %s[as %s]%s\n", P->dim, as_name(o->as), P->off);
	for (size_t i = 0; i < c->nh; i++) {
		const struct hop *h = &c->h[i];
		const char *sc = h->internal                      ? P->internal
		                 : h->status >= 400 || !h->status ? P->err
		                 : h->status >= 300               ? P->redir
		                                                  : P->ok;
		char status[96];
		if (h->status)
			snprintf(status, sizeof(status), "%d %s", h->status, h->reason);
		else
			snprintf(status, sizeof(status), "no response");
		fprintf(f, "  %2zu  %-7s %s%-26s%s %s", i + 1, h->method, sc, status, P->off,
		        h->url);
		if (!h->internal)
			fprintf(f, "  %s%.0f ms%s", P->dim, h->ms, P->off);
		fputc('\n', f);
		if (h->body_sent)
			fprintf(f, "        %sbody: %zu bytes sent%s\n", P->dim, o->body_len,
			        P->off);
		if (h->error)
			fprintf(f, "        %serror: %s%s\n", P->err, h->error, P->off);
		if (h->loc_raw) {
			fprintf(f, "        Location: %s", h->loc_raw);
			if (h->loc_resolved && strcmp(h->loc_resolved, h->loc_raw))
				fprintf(f, "  ->  %s", h->loc_resolved);
			fputc('\n', f);
		} else if (h->internal && h->loc_resolved) {
			fprintf(f, "        Location: %s\n", h->loc_resolved);
		}
		if (h->has_refresh)
			fprintf(f, "        refresh (%s): after %u s to %s%s\n",
			        h->refresh_meta ? "meta" : "header", h->refresh_delay,
			        h->refresh_url ? h->refresh_url : "(the same page)",
			        h->refresh && h->loc_resolved ? "" : "");
		if (h->cache[0])
			fprintf(f, "        cache: %s\n", h->cache);
		if (h->sts)
			fprintf(f, "        Strict-Transport-Security: %s%s%s%s\n", h->sts,
			        h->sts_note[0] ? " (" : "", h->sts_note, h->sts_note[0] ? ")" : "");
		if (h->cookies)
			fprintf(f, "        Set-Cookie: %s\n", h->cookies);
		if (h->vary)
			fprintf(f, "        Vary: %s\n", h->vary);
		if (h->note[0])
			fprintf(f, "        %snext: %s%s\n", P->dim, h->note, P->off);
	}
	if (c->net_error)
		fprintf(f, "  = %snetwork error%s", P->err, P->off);
	else if (c->failed)
		fprintf(f, "  = %sfailed%s", P->err, P->off);
	else if (c->nh)
		fprintf(f, "  = %d %s", c->final_status, c->h[c->nh - 1].reason);
	fprintf(f, " after %d redirect%s (%zu request%s)\n", c->redirects,
	        c->redirects == 1 ? "" : "s", c->nh, c->nh == 1 ? "" : "s");
	for (size_t i = 0; i < c->nf; i++) {
		const struct finding *x = &c->f[i];
		enum detour_severity s = detour_finding_severity(x->code);
		const char *col = s == DETOUR_SEV_ERROR     ? P->err
		                  : s == DETOUR_SEV_WARNING ? P->warn
		                                            : P->dim;
		fprintf(f, "  %s%-7s%s %s", col, detour_severity_name(s), P->off,
		        detour_finding_code(x->code));
		if (x->hop)
			fprintf(f, " (hop %d)", x->hop);
		fprintf(f, ": %s\n", x->msg);
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
	if (rc > o->exit_code)
		o->exit_code = rc;
	if (o->json)
		print_json(o, c, stdout);
	else
		print_table(o, c, stdout);
	fflush(stdout);
}
