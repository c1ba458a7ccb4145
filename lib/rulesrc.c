/* detour: the rules file, the SOURCE and TARGET fields of a line (see
 * docs/rules.md): paths, hosts, placeholders, splats and "~" regex sources;
 * the targets and the placeholders they use. Called by parse_line() in
 * rulefile.c; uses the leaf rulelex.c (diagnostics, character classes, host
 * checks); strings are rewritten in place (see the comment at the top of
 * rulefile.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "arena.h"
#include "base/ascii.h"
#include "detour/url.h"
#include "hash.h"
#include "rulelex.h"
#include "ruleset_int.h"
#include "rulesrc.h"

#define MAX_HOST 253 /* RFC 1035 §2.3.4 as written in text */

/* Explains why s[0..n) was refused, pointing at the first bad byte; what
 * names the part ("source path", "target"). A target must be URI text as
 * written; a source path may hold any visible byte (normalising encodes it)
 * but no control byte or broken '%' escape. Returns DETOUR_EINVAL, with a
 * generic message when no single byte is to blame. */
static detour_err bad_uri(struct pctx *pc, const char *s, size_t n, const char *what, bool target)
{
	char b[64];

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return detour_rf_perr(pc, s + i,
			                      "unexpected control character 0x%02X in the %s", c,
			                      what);
		if (c >= 0x80 && target)
			return detour_rf_perr(
			        pc, s + i,
			        "invalid byte 0x%02X in the %s: non-ASCII must be percent-encoded "
			        "(UTF-8 bytes as %%XX)",
			        c, what);
		if (c == '%') {
			if (n - i < 3 || !kis(s[i + 1], K_HEX) || !kis(s[i + 2], K_HEX))
				return detour_rf_perr(
				        pc, s + i,
				        "invalid percent-escape in the %s: '%%' must be followed "
				        "by two hex digits (write %%25 for a literal '%%')",
				        what);
			i += 2;
			continue;
		}
		if (target && !kis((char)c, K_URI))
			return detour_rf_perr(
			        pc, s + i,
			        "invalid character '%c' in the %s (write it percent-encoded)", c,
			        what);
	}
	return detour_rf_perr(pc, s, "invalid %s \"%s\"", what, detour_rf_show(b, s, n));
}

/* Checks a placeholder segment ":name" at seg[0..n) (seg[0] == ':'). */
static detour_err check_placeholder(struct pctx *pc, const char *seg, size_t n, struct srcinfo *si)
{
	char b[64];
	const char *name = seg + 1;
	size_t nl = n - 1;

	if (nl == 0)
		return detour_rf_perr(pc, seg, "expected a placeholder name after ':'");
	bool ok = kis(name[0], K_NAME0);
	for (size_t i = 1; ok && i < nl; i++)
		ok = kis(name[i], K_NAME);
	if (!ok)
		return detour_rf_perr(
		        pc, seg,
		        "a placeholder is a whole segment \":name\" (letters, digits and '_', "
		        "not starting with a digit), found \"%s\"",
		        detour_rf_show(b, seg, n));
	if (nl == 5 && memcmp(name, "splat", 5) == 0)
		return detour_rf_perr(
		        pc, seg, "\":splat\" is reserved for the part matched by a final \"*\"");
	for (unsigned i = 0; i < si->ncaps; i++) {
		if (si->nlen[i] == nl && memcmp(si->names[i], name, nl) == 0)
			return detour_rf_perr(pc, seg,
			                      "placeholder \"%s\" appears twice in the source",
			                      detour_rf_show(b, seg, n));
	}
	if (si->ncaps == DETOUR_MAX_CAPTURES)
		return detour_rf_perr(pc, seg, "more than %d placeholders in the source",
		                      DETOUR_MAX_CAPTURES);
	si->names[si->ncaps] = name;
	si->nlen[si->ncaps] = nl;
	si->ncaps++;
	return DETOUR_OK;
}

/* SOURCE: [scheme://host | //host] path. Rewrites the field in place:
 * host NUL path NUL, and fills r (path, kind, scheme, flags), pc->host and si. */
detour_err detour_rf_parse_source(struct pctx *pc, struct field *f, struct detour_rule *r,
                                  struct srcinfo *si)
{
	char b[64];
	char *s = f->p, *end = f->p + f->n, *auth = NULL, *path, *h = NULL;
	size_t hn = 0;
	bool wild = false;

	r->scheme = DETOUR_SCHEME_ANY;
	if (s[0] == '~') {
		/* A PCRE2 regex over the normalised request path; compiled once the
		 * options (case=) are known, see finish_ext(). */
		if (f->n == 1)
			return detour_rf_perr(pc, s + 1,
			                      "expected a regex after '~' (as in ~^/p/([0-9]+)$)");
		if (f->n - 1 > UINT16_MAX - 2)
			return detour_rf_perr(pc, s, "the regex is longer than %d bytes",
			                      UINT16_MAX - 2);
		for (size_t i = 1; i < f->n; i++)
			if ((unsigned char)s[i] >= 0x80)
				return detour_rf_perr(
				        pc, s + i,
				        "non-ASCII byte 0x%02X in a regex: request paths are "
				        "matched normalised, so write it as %%XX",
				        (unsigned char)s[i]);
		s[f->n] = '\0';
		r->kind = DETOUR_SRC_REGEX;
		pc->host = detour_rf_empty;
		pc->host_len = 0;
		pc->path = s + 1;
		r->path_len = (uint16_t)(f->n - 1);
		r->flags = 0;
		si->ncaps = 0;
		si->splat = false;
		si->regex = true;
		pc->lx->regex = true;
		pc->lx->used = true;
		return DETOUR_OK;
	}
	if (f->n >= 2 && s[0] == '/' && s[1] == '/') {
		auth = s + 2;
	} else if (s[0] == '/') {
		auth = NULL;
	} else if (ascii_prefix_ci(s, f->n, "https://")) {
		r->scheme = DETOUR_SCHEME_HTTPS;
		auth = s + 8;
	} else if (ascii_prefix_ci(s, f->n, "http://")) {
		r->scheme = DETOUR_SCHEME_HTTP;
		auth = s + 7;
	} else {
		return detour_rf_perr(
		        pc, s,
		        "expected a source: a path starting with '/' or a URL "
		        "(https://host/path, http://host/path, //host/path), found \"%s\"",
		        detour_rf_show(b, s, f->n));
	}
	if (auth) {
		char *slash = memchr(auth, '/', (size_t)(end - auth));
		char *hend = slash ? slash : end;
		h = auth;
		if (hend - h >= 2 && h[0] == '*' && h[1] == '.') {
			wild = true;
			h++; /* keep the '.': ".example.com" */
		}
		detour_err e =
		        detour_rf_check_host(pc, wild ? h + 1 : h, (size_t)(hend - h - wild), s);
		if (e)
			return e;
		if (hend - h > MAX_HOST)
			return detour_rf_perr(
			        pc, auth, "the source host is longer than %d characters", MAX_HOST);
		if (slash == NULL)
			return detour_rf_perr(
			        pc, end,
			        "expected a path after the host (write \"%s/*\" to match every "
			        "path of the host)",
			        detour_rf_show(b, s, f->n));
		hn = detour_url_host_canon(h, (size_t)(hend - h));
		if (hn == (size_t)wild)
			return detour_rf_perr(pc, auth, "expected a host name after \"%s\"",
			                      detour_rf_show(b, s, (size_t)(auth - s)));
		path = slash;
	} else {
		path = s;
	}

	size_t pn = (size_t)(end - path);
	bool splat = pn >= 2 && path[pn - 1] == '*' && path[pn - 2] == '/';
	size_t body = splat ? pn - 1 : pn;

	/* Placeholders and '*' are checked on the text as written, so that the
	 * columns are right; the normalised path is scanned again below. The
	 * request's query and fragment never reach the path a rule is compared
	 * with, so a '?' or '#' here could never match. One pass, no memchr:
	 * this runs for every line of a million-line file. */
	si->ncaps = 0;
	for (char *q = path, *pe = path + body; q < pe; q++) {
		if (*q == '?')
			return detour_rf_perr(
			        pc, q,
			        "'?' in a source: rules match the path only (write %%3F for a "
			        "literal '?')");
		if (*q == '#')
			return detour_rf_perr(
			        pc, q,
			        "'#' in a source: the fragment is never sent to the server (write "
			        "%%23 for a literal '#')");
		if (*q != '/' || q + 1 == pe || (q[1] != '*' && q[1] != ':'))
			continue;
		char *seg = q + 1, *se = seg;
		while (se < pe && *se != '/')
			se++;
		if (se - seg == 1 && seg[0] == '*')
			return detour_rf_perr(
			        pc, seg,
			        "a splat \"*\" must be the last segment of the source (as in "
			        "\"/blog/*\")");
		if (seg[0] == ':') {
			detour_err e = check_placeholder(pc, seg, (size_t)(se - seg), si);
			if (e)
				return e;
		}
		q = se - 1;
	}

	ssize_t nl = detour_url_normalize_path(path, body, pc->rs->scratch, pc->rs->scratch_cap);
	if (nl < 0)
		return bad_uri(pc, path, body, "source path", false);
	if ((size_t)nl + 2 > UINT16_MAX)
		return detour_rf_perr(pc, path,
		                      "the source path is longer than %d bytes once normalised",
		                      UINT16_MAX - 2);

	/* Write host NUL path NUL over the field and the separator after it
	 * (see the file comment): normalising removes dot segments and decodes
	 * %XX of unreserved bytes, so it mostly shrinks, but it encodes raw
	 * non-ASCII and the like ("/café" -> "/caf%C3%A9"), which can grow; a
	 * path that no longer fits goes to the arena. */
	char *w = s;
	if (auth) {
		memmove(w, h, hn);
		w[hn] = '\0';
		pc->host = w;
		pc->host_len = hn;
		w += hn + 1;
	} else {
		pc->host = detour_rf_empty;
		pc->host_len = 0;
	}
	/* room: the field and its separator; need: path, a '*' or '/' a splat
	 * may add back, NUL */
	if ((size_t)(w - s) + (size_t)nl + splat + 1 > f->n + 1) {
		w = detour_arena_alloc(&pc->rs->arena, (size_t)nl + 2, 1);
		if (w == NULL)
			return DETOUR_ENOMEM;
	}
	memcpy(w, pc->rs->scratch, (size_t)nl);

	/* Kind and names from the normalised path. */
	si->ncaps = 0;
	for (char *q = w, *pe = w + nl; q + 1 < pe; q++) {
		if (q[0] != '/' || q[1] != ':')
			continue;
		char *se = q + 2;
		while (se < pe && *se != '/')
			se++;
		si->names[si->ncaps] = q + 2;
		si->nlen[si->ncaps] = (size_t)(se - q - 2);
		si->ncaps++;
		q = se - 1;
	}
	if (si->ncaps) {
		r->kind = DETOUR_SRC_PATTERN;
		if (splat)
			w[nl++] = '*';
	} else if (splat) {
		r->kind = DETOUR_SRC_SPLAT;
		if (w[nl - 1] != '/')
			w[nl++] = '/'; /* cannot happen: a path ending in '/' keeps it */
	} else {
		r->kind = DETOUR_SRC_EXACT;
	}
	w[nl] = '\0';
	pc->path = w;
	r->path_len = (uint16_t)nl;
	si->splat = splat;
	r->flags =
	        (uint8_t)((wild ? DETOUR_RULE_HOST_WILDCARD : 0) | (splat ? DETOUR_RULE_SPLAT : 0));
	return DETOUR_OK;
}

/* Offset where the path of an absolute target starts (after the authority);
 * 0 for a path target. */
static size_t target_path_start(const char *t, size_t n)
{
	const char *a;

	if (n == 0 || t[0] == '/')
		return 0;
	a = memchr(t, ':', n);
	if (a == NULL || (size_t)(a - t) + 3 > n)
		return 0;
	a += 3; /* "://" */
	while (a < t + n && *a != '/' && *a != '?' && *a != '#')
		a++;
	return (size_t)(a - t);
}

static void list_names(char *buf, size_t cap, const struct srcinfo *si)
{
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i <= si->ncaps; i++) {
		const char *nm;
		int nn;
		if (i < si->ncaps) {
			nm = si->names[i];
			nn = (int)si->nlen[i];
		} else if (si->splat) {
			nm = "splat";
			nn = 5;
		} else {
			break;
		}
		int k = snprintf(buf + o, cap - o, "%s:%.*s", o ? ", " : "", nn, nm);
		if (k < 0 || (size_t)k >= cap - o)
			break;
		o += (size_t)k;
	}
}

/* TARGET: a path, an http(s) URL, or '-'. Sets pc->target (in place) and
 * DETOUR_RULE_TARGET_VARS. */
detour_err detour_rf_parse_target(struct pctx *pc, struct field *f, struct detour_rule *r,
                                  const struct srcinfo *si)
{
	char b[64];
	char *s = f->p;
	size_t n = f->n;
	struct detour_url u;
	bool abs = false;
	/* A target that starts with a capture takes its scheme and host from
	 * the request: only with allow-hosts= (the open-redirect guard). */
	bool lead = (si->regex && n >= 2 && s[0] == '$' && s[1] >= '1' && s[1] <= '9') ||
	            (n >= 2 && s[0] == ':' && kis(s[1], K_NAME0));

	if (n == 1 && s[0] == '-') {
		pc->target = detour_rf_empty;
		r->target_len = 0;
		return DETOUR_OK;
	}
	if (lead) {
		for (size_t i = 0; i < n; i++)
			if (!kis(s[i], K_URI))
				return bad_uri(pc, s, n, "target", true);
	} else if (s[0] == '/') {
		if (n >= 2 && s[1] == '/')
			return detour_rf_perr(
			        pc, s,
			        "a target starting with \"//\" leaves the scheme to the client; "
			        "write https://host/...");
	} else if (ascii_prefix_ci(s, n, "https://") || ascii_prefix_ci(s, n, "http://")) {
		abs = true;
	} else {
		return detour_rf_perr(
		        pc, s,
		        "expected a target: a path starting with '/', an http:// or https:// "
		        "URL, or '-' (with status 410), found \"%s\"",
		        detour_rf_show(b, s, n));
	}
	if (!lead && detour_url_parse(s, n, &u) != DETOUR_OK)
		return bad_uri(pc, s, n, "target", true);
	if (abs && u.host.len == 0)
		return detour_rf_perr(pc, s + (u.scheme.len + 3),
		                      "expected a host in the target URL");

	/* Placeholders: ':' then a name. The longest name the source defines
	 * that starts there is the one meant (":pageid" is :pageid when the
	 * source has both :page and :pageid, :page then "id" when it has only
	 * :page); a ':' before something that is not a name stays literal. */
	size_t ps = lead ? n : target_path_start(s, n);
	bool vars = false, auth_caps = false;
	const char *auth_at = s;
	for (size_t i = 0; i + 1 < n; i++) {
		if (si->regex && s[i] == '$' && s[i + 1] >= '0' && s[i + 1] <= '9') {
			/* $1..$9: a group of the regex source. */
			unsigned g = (unsigned)(s[i + 1] - '0');
			if (g == 0 || g > si->ngroups)
				return detour_rf_perr(
				        pc, s + i,
				        "\"$%u\": the regex has %u capture group%s ($1 to $9 name "
				        "them; write %%24 for a literal '$')",
				        g, si->ngroups, si->ngroups == 1 ? "" : "s");
			vars = true;
			if (i < ps && !auth_caps)
				auth_at = s + i;
			auth_caps |= i < ps;
			i++;
			continue;
		}
		if (s[i] != ':' || !kis(s[i + 1], K_NAME0))
			continue;
		size_t j = i + 1;
		while (j < n && kis(s[j], K_NAME))
			j++;
		size_t idl = j - i - 1, best = 0;
		for (unsigned k = 0; k <= si->ncaps; k++) {
			const char *nm = k < si->ncaps ? si->names[k] : "splat";
			size_t nn = k < si->ncaps ? si->nlen[k] : 5;
			if (k == si->ncaps && !si->splat)
				break;
			if (nn <= idl && nn > best && memcmp(s + i + 1, nm, nn) == 0)
				best = nn;
		}
		if (i < ps && best) {
			if (!auth_caps)
				auth_at = s + i;
			auth_caps = true;
		} else if (i < ps) {
			continue; /* "user:pass@", literal */
		}
		if (best == 0) {
			char names[160];
			list_names(names, sizeof(names), si);
			return detour_rf_perr(
			        pc, s + i, "unknown placeholder \"%s\" in the target (%s%s)",
			        detour_rf_show(b, s + i, j - i),
			        names[0] ? "the source defines " : "the source defines none",
			        names[0] ? names : "; write %3A for a literal ':'");
		}
		vars = true;
		i += best;
	}
	if (auth_caps) {
		/* Open-redirect guard: a capture that can reach the scheme or
		 * host could send the client anywhere. */
		if (pc->lx->x.nallow == 0)
			return detour_rf_perr(
			        pc, auth_at,
			        "a capture in the target's scheme or host can redirect to any "
			        "site: name the hosts it may reach with allow-hosts=a.com,b.com "
			        "(or keep captures in the path, query or fragment)");
		pc->lx->x.flags |= DETOUR_EXT_CAPTURE_AUTHORITY;
		pc->lx->used = true;
	}
	if (vars)
		r->flags |= DETOUR_RULE_TARGET_VARS;
	s[n] = '\0';
	pc->target = s;
	r->target_len = (uint16_t)n;
	return DETOUR_OK;
}
