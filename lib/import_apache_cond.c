/* detour import apache: RewriteConds -> conditions
 * (lib/import_apache_cond.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ascii.h"
#include "detour/import_out.h"
#include "import_apache_cond.h"

/* The header a %{VAR} of a RewriteCond reads, or NULL. */
static const char *var_header(const char *v)
{
	static const struct {
		const char *var, *hdr;
	} map[] = {{"HTTP_USER_AGENT", "User-Agent"}, {"HTTP_REFERER", "Referer"},
	           {"HTTP_ACCEPT", "Accept"},         {"HTTP_HOST", "Host"},
	           {"HTTP_COOKIE", "Cookie"},         {"HTTP_FORWARDED", "Forwarded"},
	           {"HTTP_PROXY_CONNECTION", NULL}};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(v, map[i].var))
			return map[i].hdr;
	return NULL;
}

/* "^10\.1\." -> 10.1.0.0/16; "^1\.2\.3\.4$" and "=1.2.3.4" -> /32.
 * Returns false when the pattern is not an address prefix. */
static bool ip_prefix(const char *pat, char *out, size_t cap)
{
	unsigned oct[4] = {0}, n = 0;
	bool whole = false;
	const char *p = pat;

	if (*p == '=') {
		p++;
		whole = true;
	} else if (*p == '^') {
		p++;
	} else {
		return false;
	}
	while (*p && n < 4) {
		if (!ascii_is_digit((unsigned char)*p))
			return false;
		unsigned v = 0;
		while (ascii_is_digit((unsigned char)*p))
			v = v * 10 + (unsigned)(*p++ - '0');
		if (v > 255)
			return false;
		oct[n++] = v;
		if (p[0] == '\\' && p[1] == '.')
			p += 2;
		else if (*p == '.' && pat[0] == '=')
			p++;
		else if (n == 4 && (*p == '$' || *p == '\0'))
			break;
		else
			return false;
	}
	if (n == 0)
		return false;
	if (n == 4) {
		if (!(whole ? *p == '\0' : p[0] == '$' && p[1] == '\0'))
			return false;
	} else if (*p || whole) {
		return false;
	}
	snprintf(out, cap, "%u.%u.%u.%u/%u", oct[0], oct[1], oct[2], oct[3], 8 * n);
	return true;
}

/* A query literal k=v or k from patterns like ^k=v$, (^|&)k=v(&|$), k=v. */
static bool query_literal(const char *pat, char *out, size_t cap)
{
	char body[1024];
	const char *p = pat;
	size_t n = strlen(p);

	if (!strncmp(p, "(^|&)", 5))
		p += 5, n -= 5;
	else if (*p == '^')
		p++, n--;
	if (n >= 5 && !strcmp(p + n - 5, "(&|$)"))
		n -= 5;
	else if (n >= 1 && p[n - 1] == '$')
		n--;
	if (n == 0 || n + 3 > sizeof(body))
		return false;
	body[0] = '^';
	memcpy(body + 1, p, n);
	body[n + 1] = '$';
	body[n + 2] = '\0';
	if (!detour_import_re_literal(body, out, cap) || strchr(out, '&') || out[0] == '=')
		return false;
	return true;
}

/* One RewriteCond as detour options appended to b; returns NULL, or why it
 * cannot be expressed. */
const char *detour_import_apache_cond(const struct detour_apache_cond *c, struct bbuf *b,
                                      char *whybuf, size_t whycap)
{
	const char *t = c->test, *pat = c->pattern;
	bool neg = false;
	char lit[1024], var[128];

	if (*pat == '!') {
		neg = true;
		pat++;
	}
	if (pat[0] == '-' && ascii_is_alpha((unsigned char)pat[1]) &&
	    strcmp(pat, "-ipmatch") != 0 && strncmp(pat, "-ipmatch", 8) != 0)
		return "a file or integer test (-f, -d, -lt ...): detour has no files";
	size_t tl = strlen(t);
	if (tl < 4 || t[0] != '%' || t[1] != '{' || t[tl - 1] != '}' || tl - 3 >= sizeof(var) ||
	    memchr(t + 2, '%', tl - 3))
		return "the test string is not one %{VARIABLE}";
	memcpy(var, t + 2, tl - 3);
	var[tl - 3] = '\0';
	const char *bang = neg ? "!" : "";

	if (!strcmp(var, "HTTPS") || !strcmp(var, "REQUEST_SCHEME") || !strcmp(var, "SERVER_PORT"))
		return "a condition on the scheme or port: detour matches the scheme only in a "
		       "source with a host; for http -> https use https-redirect in detour.conf";
	if (!strcmp(var, "REQUEST_METHOD")) {
		const char *m = pat;
		char list[256];
		size_t o = 0;
		if (*m == '=') {
			m++;
		} else if (*m == '^') {
			m++;
		}
		bool paren = *m == '(';
		if (paren)
			m++;
		for (; *m && *m != ')' && *m != '$' && o + 2 < sizeof(list); m++) {
			if (*m == '|')
				list[o++] = ',';
			else if (ascii_is_alpha((unsigned char)*m))
				list[o++] = (char)(c->nc ? *m & ~0x20 : *m);
			else
				return "a method pattern that is not a list of methods";
		}
		list[o] = '\0';
		if (o == 0)
			return "an empty method pattern";
		bbuf_putf(b, " method=%s%s", bang, list);
		return NULL;
	}
	if (!strcmp(var, "REMOTE_ADDR")) {
		char cidr[64];
		if (!strncmp(pat, "-ipmatch", 8)) {
			const char *a = pat + 8;
			while (*a == ' ' || *a == '\t')
				a++;
			if (*a == '\0')
				return "-ipmatch without an address";
			bbuf_putf(b, " if-ip=%s%s", bang, a);
			return NULL;
		}
		if (!ip_prefix(pat, cidr, sizeof(cidr)))
			return "an address pattern that is not a whole-octet prefix (write "
			       "-ipmatch CIDR)";
		bbuf_putf(b, " if-ip=%s%s", bang, cidr);
		return NULL;
	}
	if (!strcmp(var, "QUERY_STRING")) {
		if (!query_literal(pat, lit, sizeof(lit)))
			return "a query pattern other than one key=value: detour's if-query "
			       "compares parameters, not a regex";
		bbuf_putf(b, " if-query=%s%s", bang, lit);
		return NULL;
	}
	if (!strcmp(var, "HTTP_COOKIE")) {
		const char *eq;
		if (query_literal(pat, lit, sizeof(lit)) && (eq = strchr(lit, '=')) &&
		    !strchr(eq + 1, ';')) {
			bbuf_putf(b, " if-cookie=%s%s", bang, lit);
			return NULL;
		}
	}
	const char *hdr = NULL;
	if (!strncmp(var, "HTTP:", 5) && var[5])
		hdr = var + 5;
	else
		hdr = var_header(var);
	if (hdr == NULL) {
		if (!strcmp(var, "REQUEST_URI") || !strcmp(var, "THE_REQUEST"))
			return "a condition on the request line: write it into the rule's pattern";
		snprintf(whybuf, whycap, "%%{%s}: a variable detour has no condition for", var);
		return whybuf;
	}
	if (*pat == '=') {
		bbuf_putf(b, " if-header=%s%s:~", bang, hdr);
		BBUF_LIT(b, "^");
		if (c->nc)
			BBUF_LIT(b, "(?i)");
		detour_import_re_quote(b, pat + 1, strlen(pat + 1));
		BBUF_LIT(b, "$");
		return NULL;
	}
	bbuf_putf(b, " if-header=%s%s:~", bang, hdr);
	if (c->nc)
		BBUF_LIT(b, "(?i)");
	detour_import_re_put(b, pat);
	return NULL;
}
