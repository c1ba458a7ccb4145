/* detour: Location resolution, the browser's URL repairs and curl's, on top
 * of RFC 3986 §5 (detour_url_resolve). "WHATWG" marks the URL standard's
 * basic URL parser; "curl" marks curl 7.88's lib/urlapi.c (and lib/http.c).
 * The method (a reversible "T form") is described in docs/internals/follow.md. */
#include <stdio.h>
#include <string.h>

#include <idn2.h>

#include "detour/location.h"
#include "detour/url.h"
#include "urlparts.h"

enum comp { K_USER, K_HOST, K_PATH, K_QUERY, K_FRAG };

/* WHATWG URL §1.3 percent-encode sets, for special schemes: the bytes a
 * browser writes as %XX in each component. */
static bool browser_encodes(unsigned char c, enum comp k)
{
	/* C0 control percent-encode set: C0 controls and everything above
	 * U+007E (so DEL and every non-ASCII byte of the UTF-8 form). */
	if (c < 0x20 || c > 0x7E)
		return true;
	switch (k) {
	case K_FRAG: /* fragment set */
		return c == ' ' || c == '"' || c == '<' || c == '>' || c == '`';
	case K_QUERY: /* special-query set */
		return c == ' ' || c == '"' || c == '#' || c == '<' || c == '>' || c == '\'';
	case K_PATH: /* path set */
		return c == ' ' || c == '"' || c == '#' || c == '<' || c == '>' || c == '?' ||
		       c == '`' || c == '{' || c == '}';
	case K_USER: /* userinfo set */
		return c == ' ' || c == '"' || c == '#' || c == '<' || c == '>' || c == '?' ||
		       c == '`' || c == '{' || c == '}' || c == '/' || c == ':' || c == ';' ||
		       c == '=' || c == '@' || c == '[' || c == '\\' || c == ']' || c == '^' ||
		       c == '|';
	case K_HOST:
		return false;
	}
	return false;
}

/* RFC 3986 Appendix A: the bytes each component may hold literally. */
static bool rfc_legal(unsigned char c, enum comp k)
{
	if (ascii_is_alpha(c) || ascii_is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~')
		return true;
	if (c && strchr("!$&'()*+,;=", c))
		return true; /* sub-delims */
	switch (k) {
	case K_HOST:
		return false;
	case K_USER:
		return c == ':';
	case K_PATH:
		return c == ':' || c == '@' || c == '/';
	case K_QUERY:
	case K_FRAG:
		return c == ':' || c == '@' || c == '/' || c == '?';
	}
	return false;
}

/* Writes byte c of component k in the escaped form ("T form") that
 * detour_url_resolve can parse and unescape() reverts exactly: every '%' of
 * the input becomes "%25"; a byte the client encodes becomes "%25XX" (that
 * is "%XX" after unescape); a byte the client keeps but RFC 3986 forbids
 * becomes "%XX" (that is the byte itself after unescape). */
static void put_t(struct bbuf *w, enum detour_as as, unsigned char c, enum comp k, bool first_seg,
                  unsigned *flags)
{
	static const char HU[] = "0123456789ABCDEF", HL[] = "0123456789abcdef";
	char t[6];
	bool enc, legal;

	if (c == '%') {
		bbuf_put(w, "%25", 3);
		return;
	}
	if (as == DETOUR_AS_CURL) {
		/* curl: urlencode_str() turns a space into "%20" before the
		 * '?' and '+' after it, and escapes bytes above 0x7F
		 * (lower-case hex); anything else goes through as it is. */
		if (c == ' ') {
			*flags |= DETOUR_LOC_ENCODED;
			if (k == K_QUERY || k == K_FRAG)
				bbuf_putc(w, '+');
			else
				bbuf_put(w, "%2520", 5);
			return;
		}
		enc = c > 0x7F;
		if (enc) {
			t[0] = '%';
			t[1] = '2';
			t[2] = '5';
			t[3] = HL[c >> 4];
			t[4] = HL[c & 15];
			*flags |= DETOUR_LOC_ENCODED;
			bbuf_put(w, t, 5);
			return;
		}
	} else if (browser_encodes(c, k)) {
		t[0] = '%';
		t[1] = '2';
		t[2] = '5';
		t[3] = HU[c >> 4];
		t[4] = HU[c & 15];
		*flags |= (k == K_HOST) ? DETOUR_LOC_IDN : DETOUR_LOC_ENCODED;
		bbuf_put(w, t, 5);
		return;
	}
	legal = rfc_legal(c, k) && !(first_seg && c == ':');
	if (!legal) {
		if (!first_seg || c != ':')
			*flags |= DETOUR_LOC_ENCODED;
		t[0] = '%';
		t[1] = HU[c >> 4];
		t[2] = HU[c & 15];
		bbuf_put(w, t, 3);
		return;
	}
	bbuf_putc(w, (char)c);
}

/* Inverse of the T form: "%25" -> '%', "%XX" -> the byte. */
static size_t unescape(char *s, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n) {
			int a = ascii_hexval((unsigned char)s[i + 1]);
			int b = ascii_hexval((unsigned char)s[i + 2]);
			if (a >= 0 && b >= 0) {
				s[o++] = (char)(a * 16 + b);
				i += 2;
				continue;
			}
		}
		s[o++] = s[i];
	}
	return o;
}

static int default_port(const char *scheme, size_t n)
{
	if (ascii_eq_ci(scheme, n, "http"))
		return 80;
	if (ascii_eq_ci(scheme, n, "https"))
		return 443;
	return -1;
}

/* Forbidden domain code points (WHATWG URL §3.1), ASCII part. */
static bool forbidden_host(unsigned char c)
{
	return c <= 0x20 || c == 0x7F || (c && strchr("#/:<>?@[\\]^|%", c));
}

/* The WHATWG URL host parser for a host with non-ASCII bytes or
 * percent-encodings, as a browser runs it: percent-decode, then UTS #46
 * "domain to ASCII" (nontransitional, as Chromium and the URL standard:
 * "faß.de" stays "xn--fa-hia.de"), by libidn2 with NFC applied first.
 * Writes the ASCII host to w and returns 1; returns 0 when the host is
 * plain ASCII (the caller copies it), -1 when it is not a valid domain (a
 * browser's "invalid URL"). */
static int idn_host(struct bbuf *w, const char *s, size_t n)
{
	char dec[1024];
	size_t dn = 0;
	bool plain = true;

	for (size_t k = 0; k < n; k++)
		if ((unsigned char)s[k] > 0x7F || s[k] == '%')
			plain = false;
	if (plain)
		return 0;
	if (n >= sizeof(dec))
		return -1;
	for (size_t k = 0; k < n; k++) {
		if (s[k] == '%' && k + 2 < n && ascii_hexval((unsigned char)s[k + 1]) >= 0 &&
		    ascii_hexval((unsigned char)s[k + 2]) >= 0) {
			dec[dn++] = (char)(ascii_hexval((unsigned char)s[k + 1]) * 16 +
			                   ascii_hexval((unsigned char)s[k + 2]));
			k += 2;
		} else {
			dec[dn++] = s[k];
		}
	}
	dec[dn] = 0;
	if (memchr(dec, 0, dn))
		return -1;
	char *out = NULL;
	if (idn2_lookup_u8((const uint8_t *)dec, (uint8_t **)&out,
	                   IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT) != IDN2_OK)
		return -1;
	int rc = 1;
	for (const char *p = out; *p; p++)
		if (forbidden_host((unsigned char)*p))
			rc = -1;
	if (rc > 0)
		for (const char *p = out; *p; p++)
			bbuf_putc(w, ascii_lower(*p));
	idn2_free(out);
	return rc;
}

struct prep {
	bool has_scheme, has_auth, has_frag;
	char scheme[8];
};

/* Turns a reference into the T form (see put_t) with the preprocessing of
 * the client in as: s[0..n) -> w. base_scheme may be NULL (no base). */
static detour_err prep(enum detour_as as, const char *in, size_t n, const char *base_scheme,
                       struct bbuf *w, struct prep *pp, unsigned *flags)
{
	char local[DETOUR_LOCATION_URL_MAX];
	char *s = local;
	size_t len = 0;
	bool browser = as == DETOUR_AS_BROWSER;

	if (n > sizeof(local))
		return DETOUR_ETOOBIG;
	/* WHATWG basic URL parser, before the state machine: remove leading
	 * and trailing C0 control or space, and every ASCII tab or newline.
	 * curl: Curl_copy_header_value trims leading and trailing white
	 * space. */
	size_t a = 0, b = n;
	if (browser) {
		while (a < b && (unsigned char)in[a] <= 0x20)
			a++;
		while (b > a && (unsigned char)in[b - 1] <= 0x20)
			b--;
	} else {
		while (a < b && (in[a] == ' ' || in[a] == '\t'))
			a++;
		while (b > a && (in[b - 1] == ' ' || in[b - 1] == '\t'))
			b--;
	}
	if (a != 0 || b != n)
		*flags |= DETOUR_LOC_STRIPPED;
	for (size_t i = a; i < b; i++) {
		/* curl: junkscan() refuses a URL with control codes. */
		if (!browser && ((unsigned char)in[i] < 0x20 || in[i] == 0x7F))
			return DETOUR_EINVAL;
		if (browser && (in[i] == '\t' || in[i] == '\n' || in[i] == '\r')) {
			*flags |= DETOUR_LOC_STRIPPED;
			continue;
		}
		s[len++] = in[i];
	}

	memset(pp, 0, sizeof(*pp));
	size_t i = 0;
	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
	if (len && ascii_is_alpha((unsigned char)s[0])) {
		size_t j = 1;
		while (j < len && (ascii_is_alpha((unsigned char)s[j]) ||
		                   ascii_is_digit((unsigned char)s[j]) || s[j] == '+' ||
		                   s[j] == '-' || s[j] == '.'))
			j++;
		if (j < len && s[j] == ':') {
			if (!detour_url_scheme_is_http(s, j, NULL) || j >= sizeof(pp->scheme)) {
				*flags |= DETOUR_LOC_SCHEME;
				bbuf_put(w, s, len);
				return DETOUR_EUNSUPPORTED;
			}
			for (size_t k = 0; k < j; k++)
				pp->scheme[k] = ascii_lower(s[k]);
			pp->scheme[j] = 0;
			pp->has_scheme = true;
			i = j + 1;
		}
	}
	if (!pp->has_scheme && !base_scheme)
		return DETOUR_EINVAL;

	/* Slashes before an authority. '\' counts as '/' for a browser. */
	size_t sl = 0;
	while (i + sl < len && (s[i + sl] == '/' || (browser && s[i + sl] == '\\')))
		sl++;
	for (size_t k = 0; k < sl && browser; k++)
		if (s[i + k] == '\\')
			*flags |= DETOUR_LOC_BACKSLASH;
	if (pp->has_scheme) {
		if (browser && base_scheme && !strcmp(pp->scheme, base_scheme) && sl < 2) {
			/* WHATWG "special relative or authority state": the same
			 * special scheme as the base without "//" is relative
			 * ("http:foo"); RFC 3986 §5.2.2 allows this as the
			 * non-strict parser's choice. */
			pp->has_scheme = false;
		} else if (browser) {
			/* "special authority ignore slashes state": any number
			 * of slashes, even none ("https:host/x"). */
			pp->has_auth = true;
		} else {
			if (sl < 2)
				return DETOUR_EINVAL;
			pp->has_auth = true;
			sl = 2;
		}
	} else if (sl >= 2) {
		/* A scheme-relative reference; a browser skips any further
		 * slashes ("relative slash state"). */
		pp->has_auth = true;
		if (!browser)
			sl = 2;
	}
	if (pp->has_scheme) {
		bbuf_puts(w, pp->scheme);
		bbuf_putc(w, ':');
	}
	if (pp->has_auth) {
		i += sl;
		size_t e = i;
		while (e < len && s[e] != '/' && s[e] != '?' && s[e] != '#' &&
		       !(browser && s[e] == '\\'))
			e++;
		bbuf_put(w, "//", 2);
		/* userinfo up to the last '@' (WHATWG authority state). */
		size_t h = i;
		for (size_t k = e; k > i; k--)
			if (s[k - 1] == '@') {
				h = k;
				break;
			}
		if (h > i) {
			*flags |= DETOUR_LOC_USERINFO;
			for (size_t k = i; k < h - 1; k++)
				put_t(w, as, (unsigned char)s[k], s[k] == ':' ? K_HOST : K_USER,
				      false, flags);
			bbuf_putc(w, '@');
		}
		/* host [ ":" port ] */
		size_t hp = h;
		if (hp < e && s[hp] == '[') {
			while (hp < e && s[hp] != ']')
				hp++;
			if (hp >= e)
				return DETOUR_EINVAL;
			hp++;
			for (size_t k = h; k < hp; k++)
				bbuf_putc(w, ascii_lower(s[k]));
		} else {
			while (hp < e && s[hp] != ':')
				hp++;
			if (hp == h)
				return DETOUR_EINVAL; /* special schemes need a host */
			int idn = browser ? idn_host(w, s + h, hp - h) : 0;
			if (idn < 0)
				return DETOUR_EINVAL;
			if (idn)
				*flags |= DETOUR_LOC_IDN;
			for (size_t k = h; k < hp && !idn; k++) {
				unsigned char c = (unsigned char)s[k];
				if (c > 0x7F) {
					put_t(w, as, c, K_HOST, false, flags);
					*flags |= DETOUR_LOC_IDN;
				} else if (c == '%' && k + 2 < hp &&
				           ascii_hexval((unsigned char)s[k + 1]) >= 0 &&
				           ascii_hexval((unsigned char)s[k + 2]) >= 0) {
					/* pct-encoded (RFC 3986 reg-name), as written
					 * for a non-ASCII host above */
					put_t(w, as, c, K_HOST, false, flags);
					for (int q = 1; q <= 2; q++) {
						char hc = s[k + (size_t)q];
						bbuf_putc(w, (browser && hc >= 'a' && hc <= 'f')
						                     ? (char)(hc - 32)
						                     : hc);
					}
					k += 2;
					*flags |= DETOUR_LOC_IDN;
				} else if (forbidden_host(c)) {
					return DETOUR_EINVAL;
				} else {
					bbuf_putc(w, ascii_lower((char)c));
				}
			}
		}
		if (hp < e) {
			if (s[hp] != ':')
				return DETOUR_EINVAL;
			long port = 0;
			size_t ps = hp + 1;
			for (size_t k = ps; k < e; k++) {
				if (!ascii_is_digit((unsigned char)s[k]))
					return DETOUR_EINVAL;
				port = port * 10 + (s[k] - '0');
				if (port > 65535)
					return DETOUR_EINVAL;
			}
			const char *sch = pp->has_scheme ? pp->scheme : base_scheme;
			/* WHATWG: the scheme's default port and an empty port
			 * are not kept. */
			if (e > ps && port != default_port(sch, strlen(sch))) {
				char pb[8];
				int pl = snprintf(pb, sizeof(pb), ":%ld", port);
				bbuf_put(w, pb, (size_t)pl);
			}
		}
		i = e;
	}
	/* path */
	bool noscheme_rel = !pp->has_scheme && !pp->has_auth;
	bool first_seg = noscheme_rel;
	for (; i < len && s[i] != '?' && s[i] != '#'; i++) {
		unsigned char c = (unsigned char)s[i];
		if (browser && c == '\\') {
			*flags |= DETOUR_LOC_BACKSLASH;
			c = '/';
		}
		if (c == '/')
			first_seg = false;
		if (c == '%' && !(i + 2 < len && ascii_hexval((unsigned char)s[i + 1]) >= 0 &&
		                  ascii_hexval((unsigned char)s[i + 2]) >= 0))
			*flags |= DETOUR_LOC_BAD_PCT;
		put_t(w, as, c, K_PATH, first_seg, flags);
	}
	if (i < len && s[i] == '?') {
		bbuf_putc(w, '?');
		for (i++; i < len && s[i] != '#'; i++) {
			if (s[i] == '%' &&
			    !(i + 2 < len && ascii_hexval((unsigned char)s[i + 1]) >= 0 &&
			      ascii_hexval((unsigned char)s[i + 2]) >= 0))
				*flags |= DETOUR_LOC_BAD_PCT;
			put_t(w, as, (unsigned char)s[i], K_QUERY, false, flags);
		}
	}
	if (i < len && s[i] == '#') {
		pp->has_frag = true;
		bbuf_putc(w, '#');
		for (i++; i < len; i++)
			put_t(w, as, (unsigned char)s[i], K_FRAG, false, flags);
	}
	if (w->over)
		return DETOUR_ETOOBIG;
	return DETOUR_OK;
}

/* The longest T form of an input prep() accepts (DETOUR_LOCATION_URL_MAX
 * bytes): put_t writes at most 5 bytes for an input byte ("%25XX"); prep adds
 * "//" after "https:" with no slash and may write a host as punycode, at
 * most 255 bytes (IDN2_DOMAIN_MAX_LENGTH). The T form is up to 5 times the
 * result's length ("%25" for '%'), so the buffers are sized for the worst
 * case and the limit is checked on the result, not on the T form: how a URL
 * is spelled must not decide whether it fits. */
#define T_MAX (5 * DETOUR_LOCATION_URL_MAX + 512)

detour_err detour_location_resolve(enum detour_as as, const char *base, size_t base_len,
                                   const char *ref, size_t ref_len, char *out, size_t cap,
                                   size_t *out_len, unsigned *flags)
{
	/* res holds the merged path before its dot segments go: at most
	 * base_len + ref_len + 2 (url.h), and the '/' of an empty path. */
	char tb[T_MAX], tr[T_MAX], res[2 * T_MAX + 4];
	struct bbuf wbase, wref;
	bbuf_fixed(&wbase, tb, sizeof(tb));
	bbuf_fixed(&wref, tr, sizeof(tr));
	struct prep pb, pr;
	unsigned fl = 0, ignore = 0;
	detour_err err;

	if (flags)
		*flags = 0;
	if (cap == 0)
		return DETOUR_ETOOBIG;
	out[0] = 0;
	if (out_len)
		*out_len = 0;
	if (base) {
		/* The base is a URL this function produced: only the T form
		 * changes it. */
		err = prep(DETOUR_AS_BROWSER, base, base_len, NULL, &wbase, &pb, &ignore);
		if (err)
			return DETOUR_EINVAL;
	}
	err = prep(as, ref, ref_len, base ? pb.scheme : NULL, &wref, &pr, &fl);
	if (flags)
		*flags = fl;
	if (err == DETOUR_EUNSUPPORTED) {
		/* Report the reference as it was, made safe to print. */
		size_t o = 0;
		for (size_t k = 0; k < ref_len && o + 1 < cap; k++) {
			unsigned char c = (unsigned char)ref[k];
			out[o++] = (c <= 0x20 || c == 0x7F) ? '?' : (char)c;
		}
		out[o] = 0;
		if (out_len)
			*out_len = o;
		return err;
	}
	if (err)
		return err;
	if (!pr.has_scheme && !pr.has_auth)
		fl |= DETOUR_LOC_RELATIVE;
	else if (!pr.has_scheme)
		fl |= DETOUR_LOC_RELATIVE;
	if (flags)
		*flags = fl;

	size_t n;
	if (base)
		err = detour_url_resolve(tb, wbase.len, tr, wref.len, res, sizeof(res), &n);
	else
		err = detour_url_resolve(tr, wref.len, tr, wref.len, res, sizeof(res), &n);
	if (err)
		return err == DETOUR_ETOOBIG ? DETOUR_ETOOBIG : DETOUR_EINVAL;
	/* An empty path of a special URL is "/" (WHATWG path start state). */
	struct abs ab;
	if (!split_abs(res, n, &ab))
		return DETOUR_EINVAL;
	if (ab.path.len == 0) {
		size_t at = (size_t)(ab.path.p - res);
		memmove(res + at + 1, res + at, n - at + 1);
		res[at] = '/';
		n++;
	}
	n = unescape(res, n);
	/* The result must fit in out and be short enough to be resolved
	 * again (the next hop's base, or a URL given back as it is). */
	if (n + 1 > cap || n > DETOUR_LOCATION_URL_MAX)
		return DETOUR_ETOOBIG;
	memcpy(out, res, n);
	out[n] = 0;
	/* RFC 9110 §10.2.2: "If the Location value provided in a 3xx
	 * (Redirection) response does not have a fragment component, a user
	 * agent MUST process the redirection as if the value inherits the
	 * fragment component of the URI reference used to generate the
	 * target URI". Fetch's location URL algorithm (step 4) does the same.
	 * curl does not. */
	if (as == DETOUR_AS_BROWSER && base && !pr.has_frag) {
		const char *hash = memchr(base, '#', base_len);
		if (hash) {
			size_t fl2 = base_len - (size_t)(hash - base);
			if (n + fl2 + 1 > cap || n + fl2 > DETOUR_LOCATION_URL_MAX) {
				out[0] = 0;
				return DETOUR_ETOOBIG;
			}
			memcpy(out + n, hash, fl2);
			n += fl2;
			out[n] = 0;
			if (flags)
				*flags |= DETOUR_LOC_FRAGMENT;
		}
	}
	if (out_len)
		*out_len = n;
	return DETOUR_OK;
}
