/* detour: URLs (RFC 3986). Parsing into borrowed slices, request-path
 * normalisation for rule matching, reference resolution and percent-encoding
 * of substituted values. Nothing here allocates; every output goes to a
 * caller-owned buffer. See docs/internals/url.md. */
#include <stdint.h>
#include <string.h>

#include "detour/url.h"

#include "base/ascii.h"
#include "base/buf.h"

/* Character classes, RFC 3986 §2.2, §2.3 and Appendix A. */
enum {
	C_UNRES = 1 << 0, /* unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~" */
	C_SUB = 1 << 1, /* sub-delims = "!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" /
	                   "=" */
	C_PCHAR = 1 << 2, /* pchar = unreserved / sub-delims / ":" / "@" (without pct-encoded) */
	C_HEX = 1 << 3,   /* HEXDIG */
	C_ALPHA = 1 << 4, /* ALPHA */
	C_DIGIT = 1 << 5, /* DIGIT */
	C_PATH = 1 << 6,  /* pchar / "/" (without pct-encoded) */
	C_QF = 1 << 7,    /* pchar / "/" / "?": query and fragment (without pct-encoded) */
};

#define UNR (C_UNRES | C_PCHAR | C_PATH | C_QF)
#define SUB (C_SUB | C_PCHAR | C_PATH | C_QF)

static const uint8_t cls[256] = {
        ['0' ... '9'] = UNR | C_HEX | C_DIGIT,
        ['A' ... 'F'] = UNR | C_HEX | C_ALPHA,
        ['G' ... 'Z'] = UNR | C_ALPHA,
        ['a' ... 'f'] = UNR | C_HEX | C_ALPHA,
        ['g' ... 'z'] = UNR | C_ALPHA,
        ['-'] = UNR,
        ['.'] = UNR,
        ['_'] = UNR,
        ['~'] = UNR,
        ['!'] = SUB,
        ['$'] = SUB,
        ['&'] = SUB,
        ['\''] = SUB,
        ['('] = SUB,
        [')'] = SUB,
        ['*'] = SUB,
        ['+'] = SUB,
        [','] = SUB,
        [';'] = SUB,
        ['='] = SUB,
        [':'] = C_PCHAR | C_PATH | C_QF,
        ['@'] = C_PCHAR | C_PATH | C_QF,
        ['/'] = C_PATH | C_QF,
        ['?'] = C_QF,
};

static const char HEXU[16] = "0123456789ABCDEF";

/* True if s[i] == '%' starts a valid pct-encoded = "%" HEXDIG HEXDIG within
 * s[0..end). */
static inline bool pct_at(const char *s, size_t i, size_t end)
{
	return end - i >= 3 && (cls[(unsigned char)s[i + 1]] & C_HEX) &&
	       (cls[(unsigned char)s[i + 2]] & C_HEX);
}

/* True if every byte of s[a..b) has one of the flags in f or belongs to a
 * valid pct-encoded triplet. */
static bool span_ok(const char *s, size_t a, size_t b, unsigned f)
{
	for (size_t i = a; i < b; i++) {
		unsigned char c = (unsigned char)s[i];
		if (cls[c] & f)
			continue;
		if (c == '%' && pct_at(s, i, b)) {
			i += 2;
			continue;
		}
		return false;
	}
	return true;
}

static inline struct detour_slice sl(const char *s, size_t a, size_t b)
{
	return (struct detour_slice){s + a, b - a};
}

/* RFC 3986 §3.2.2:
 *   dec-octet   = DIGIT / %x31-39 DIGIT / "1" 2DIGIT / "2" %x30-34 DIGIT / "25" %x30-35
 *   IPv4address = dec-octet "." dec-octet "." dec-octet "." dec-octet
 * so no leading zeros and no value above 255. */
static bool ipv4_ok(const char *p, size_t n)
{
	size_t i = 0;
	for (int part = 0;; part++) {
		size_t st = i;
		unsigned v = 0;
		while (i < n && i - st < 3 && (cls[(unsigned char)p[i]] & C_DIGIT))
			v = v * 10 + (unsigned)(p[i++] - '0');
		size_t d = i - st;
		if (d == 0 || v > 255 || (d > 1 && p[st] == '0'))
			return false;
		if (part == 3)
			return i == n;
		if (i >= n || p[i] != '.')
			return false;
		i++;
	}
}

/* RFC 3986 §3.2.2 IPv6address: eight h16 pieces (an IPv4address at the end
 * counts for two), or fewer with exactly one "::" standing for one or more
 * zero pieces, so at most seven explicit pieces around it. h16 is 1 to 4
 * HEXDIG. Zone identifiers (RFC 6874) are not accepted. */
static bool ipv6_ok(const char *p, size_t n)
{
	size_t i = 0;
	int pieces = 0;
	bool elided = false;
	if (n >= 2 && p[0] == ':' && p[1] == ':') {
		elided = true;
		i = 2;
	} else if (n >= 1 && p[0] == ':') {
		return false;
	}
	while (i < n) {
		size_t st = i;
		while (i < n && i - st < 4 && (cls[(unsigned char)p[i]] & C_HEX))
			i++;
		if (i < n && p[i] == '.') {
			/* ls32 = ( h16 ":" h16 ) / IPv4address, only last */
			if (!ipv4_ok(p + st, n - st))
				return false;
			pieces += 2;
			break;
		}
		if (i == st)
			return false;
		pieces++;
		if (i == n)
			break;
		if (p[i] != ':')
			return false;
		i++;
		if (i < n && p[i] == ':') {
			if (elided)
				return false;
			elided = true;
			i++;
		} else if (i == n) {
			return false; /* a single trailing ':' */
		}
	}
	return elided ? pieces <= 7 : pieces == 8;
}

/* IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ); ABNF
 * literals are case-insensitive, so "V" is accepted too. */
static bool ipvfuture_ok(const char *p, size_t n)
{
	size_t i = 1;
	if (n < 4 || (p[0] | 0x20) != 'v')
		return false;
	while (i < n && (cls[(unsigned char)p[i]] & C_HEX))
		i++;
	if (i == 1 || i >= n || p[i] != '.' || i + 1 == n)
		return false;
	for (i++; i < n; i++)
		if (!(cls[(unsigned char)p[i]] & (C_UNRES | C_SUB)) && p[i] != ':')
			return false;
	return true;
}

bool detour_url_ip_literal_valid(const char *p, size_t n)
{
	return n && (p[0] | 0x20) == 'v' ? ipvfuture_ok(p, n) : ipv6_ok(p, n);
}

/* authority = [ userinfo "@" ] host [ ":" port ]   (RFC 3986 §3.2)
 * s[a..b) is the authority, already cut at the first "/", "?" or "#". */
static detour_err parse_authority(const char *s, size_t a, size_t b, struct detour_url *u)
{
	const char *at = memchr(s + a, '@', b - a);
	if (at) {
		size_t e = (size_t)(at - s);
		/* userinfo = *( unreserved / pct-encoded / sub-delims / ":" ); the
		 * span holds no '@' (first one) and no '/' (authority cut). */
		if (!span_ok(s, a, e, C_PCHAR))
			return DETOUR_EINVAL;
		u->userinfo = sl(s, a, e);
		a = e + 1;
	}
	size_t h = a;
	if (h < b && s[h] == '[') {
		/* IP-literal = "[" ( IPv6address / IPvFuture  ) "]" */
		const char *rb = memchr(s + h, ']', b - h);
		if (!rb)
			return DETOUR_EINVAL;
		size_t e = (size_t)(rb - s);
		const char *ip = s + h + 1;
		size_t n = e - h - 1;
		if (!detour_url_ip_literal_valid(ip, n))
			return DETOUR_EINVAL;
		h = e + 1;
		if (h < b && s[h] != ':')
			return DETOUR_EINVAL;
	} else {
		/* reg-name = *( unreserved / pct-encoded / sub-delims ), which
		 * also covers every IPv4address. */
		while (h < b && s[h] != ':')
			h++;
		if (!span_ok(s, a, h, C_UNRES | C_SUB))
			return DETOUR_EINVAL;
	}
	u->host = sl(s, a, h);
	if (h < b) {
		/* port = *DIGIT; an empty port is allowed (§3.2.3). */
		long v = 0;
		for (size_t i = h + 1; i < b; i++) {
			if (!(cls[(unsigned char)s[i]] & C_DIGIT))
				return DETOUR_EINVAL;
			v = v * 10 + (s[i] - '0');
			if (v > 65535)
				return DETOUR_EINVAL;
		}
		u->port = sl(s, h + 1, b);
		if (b > h + 1)
			u->port_num = (int)v;
	}
	return DETOUR_OK;
}

detour_err detour_url_parse(const char *s, size_t len, struct detour_url *u)
{
	/* A copy of a template, not memset + store: GCC inlines this memset
	 * as "rep stos", which cost 40 % of this function when loading a
	 * million rules (issue 10; rulefile.c parse_line says more). */
	static const struct detour_url blank = {.port_num = -1};

	memcpy(u, &blank, sizeof(*u));
	if (!s) {
		if (len)
			return DETOUR_EINVAL;
		s = "";
	}
	size_t i = 0;
	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )   (§3.1). A first
	 * segment that holds a ':' after a valid scheme is a scheme (§4.2). */
	if (len && (cls[(unsigned char)s[0]] & C_ALPHA)) {
		size_t j = 1;
		while (j < len && ((cls[(unsigned char)s[j]] & (C_ALPHA | C_DIGIT)) ||
		                   s[j] == '+' || s[j] == '-' || s[j] == '.'))
			j++;
		if (j < len && s[j] == ':') {
			u->scheme = sl(s, 0, j);
			i = j + 1;
		}
	}
	if (len - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
		size_t a = i + 2, b = a;
		while (b < len && s[b] != '/' && s[b] != '?' && s[b] != '#')
			b++;
		u->has_authority = true;
		detour_err err = parse_authority(s, a, b, u);
		if (err)
			return err;
		i = b;
	}
	size_t p = i;
	while (p < len && s[p] != '?' && s[p] != '#')
		p++;
	/* path-abempty / path-absolute / path-rootless / path-noscheme /
	 * path-empty: all of them are *( pchar / "/" ); the authority cut makes
	 * the path after an authority start with '/' or be empty. */
	if (!span_ok(s, i, p, C_PATH))
		return DETOUR_EINVAL;
	if (!u->scheme.p && !u->has_authority) {
		/* path-noscheme: the first segment of a relative-path reference
		 * may not contain ':' (§4.2), else it would read as a scheme. */
		size_t k = i;
		while (k < p && s[k] != '/') {
			if (s[k] == ':')
				return DETOUR_EINVAL;
			k++;
		}
	}
	u->path = sl(s, i, p);
	i = p;
	if (i < len && s[i] == '?') {
		size_t q = i + 1;
		while (q < len && s[q] != '#')
			q++;
		/* query = *( pchar / "/" / "?" )   (§3.4) */
		if (!span_ok(s, i + 1, q, C_QF))
			return DETOUR_EINVAL;
		u->query = sl(s, i + 1, q);
		i = q;
	}
	if (i < len) {
		/* fragment = *( pchar / "/" / "?" )   (§3.5); s[i] == '#' */
		if (!span_ok(s, i + 1, len, C_QF))
			return DETOUR_EINVAL;
		u->fragment = sl(s, i + 1, len);
	}
	return DETOUR_OK;
}

/* The loop of detour_url_normalize_path(). With checked false the caller
 * has made sure cap >= 3 * len, which the invariant o <= 3 * i turns into
 * "every write fits", so the per-byte bounds checks are compiled out. */
static inline __attribute__((always_inline)) ssize_t normalize(const char *in, size_t len,
                                                               char *out, size_t cap, bool checked)
{
	/* One pass, segment by segment. Invariant: o <= 3 * i, so the output
	 * never outgrows three times the input. Each segment is copied with its '/' while %HH is
	 * decoded (unreserved) or upper-cased (anything else, §6.2.2.1-2), then
	 * checked against "." and ".." after decoding, so "%2e%2E" is a dot
	 * segment too. Dot segments are removed as RFC 3986 §5.2.4 does for an
	 * absolute path:
	 *   B. "/./" -> "/", a final "/." -> "/"
	 *   C. "/../" -> "/", a final "/.." -> "/", and the last output segment
	 *      with its '/' is dropped.
	 * Empty segments ("//") are kept: they are significant to RFC 3986. */
	size_t i = 0, o = 0;
	while (i < len) {
		size_t seg = o; /* out[seg] is this segment's '/' */
		if (checked && o >= cap)
			return -1;
		out[o++] = '/';
		i++;
		for (;;) {
			/* the common case: a run of plain pchar */
			while (i < len && (cls[(unsigned char)in[i]] & C_PCHAR)) {
				if (checked && o >= cap)
					return -1;
				out[o++] = in[i++];
			}
			if (i == len || in[i] == '/')
				break;
			/* A visible byte that is not a pchar ('|', '^', '[', ...: curl
			 * and some browsers send them raw) or a non-ASCII byte is the
			 * same resource as its percent-encoding (§2.1, §6.2.2.2):
			 * encode it, so "/a|b" and "/a%7Cb" match one rule. */
			unsigned char b = (unsigned char)in[i];
			if (b != '%' && (b > 0x20 && b != 0x7f)) {
				if (checked && cap - o < 3)
					return -1;
				out[o++] = '%';
				out[o++] = HEXU[b >> 4];
				out[o++] = HEXU[b & 15];
				i++;
				continue;
			}
			/* anything else must be pct-encoded = "%" HEXDIG HEXDIG */
			if (in[i] != '%' || len - i < 3)
				return -1;
			int hi = ascii_hexval((unsigned char)in[i + 1]);
			int lo = ascii_hexval((unsigned char)in[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			unsigned char d = (unsigned char)(hi << 4 | lo);
			if (cls[d] & C_UNRES) {
				if (checked && o >= cap)
					return -1;
				out[o++] = (char)d;
			} else {
				if (checked && cap - o < 3)
					return -1;
				out[o++] = '%';
				out[o++] = HEXU[hi];
				out[o++] = HEXU[lo];
			}
			i += 3;
		}
		size_t n = o - seg - 1;
		if (n == 1 && out[seg + 1] == '.') {
			o = i < len ? seg : seg + 1;
		} else if (n == 2 && out[seg + 1] == '.' && out[seg + 2] == '.') {
			o = seg;
			while (o > 0 && out[--o] != '/')
				;
			if (i == len)
				out[o++] = '/';
		}
	}
	return (ssize_t)o;
}

ssize_t detour_url_normalize_path(const char *in, size_t len, char *out, size_t cap)
{
	if (len == 0 || in[0] != '/')
		return -1;
	if (cap / 3 >= len)
		return normalize(in, len, out, cap, false);
	return normalize(in, len, out, cap, true);
}

/* RFC 3986 §5.2.4 remove_dot_segments, in place over p[0..n), for any path
 * (absolute, rootless or empty). The output buffer is the front of the same
 * array: it never catches up with the input. Returns the new length. */
static size_t remove_dot_segments(char *p, size_t n)
{
	size_t i = 0, o = 0;
	while (i < n) {
		size_t r = n - i;
		const char *q = p + i;
		/* A. a prefix "../" or "./" is removed */
		if (r >= 3 && q[0] == '.' && q[1] == '.' && q[2] == '/') {
			i += 3;
		} else if (r >= 2 && q[0] == '.' && q[1] == '/') {
			i += 2;
			/* B. a prefix "/./" or a complete "/." is replaced by "/" */
		} else if (r >= 3 && q[0] == '/' && q[1] == '.' && q[2] == '/') {
			i += 2;
		} else if (r == 2 && q[0] == '/' && q[1] == '.') {
			i += 1;
			p[i] = '/';
			/* C. a prefix "/../" or a complete "/.." is replaced by "/",
			 * and the last segment and its preceding "/" (if any) are
			 * removed from the output */
		} else if (r >= 3 && q[0] == '/' && q[1] == '.' && q[2] == '.' &&
		           (r == 3 || q[3] == '/')) {
			if (r == 3) {
				i += 2;
				p[i] = '/';
			} else {
				i += 3;
			}
			while (o > 0 && p[--o] != '/')
				;
			/* D. "." or ".." alone is removed */
		} else if ((r == 1 && q[0] == '.') || (r == 2 && q[0] == '.' && q[1] == '.')) {
			i = n;
		} else {
			/* E. the first segment, with its leading "/" if any, up to
			 * but not including the next "/", moves to the output */
			p[o++] = p[i++];
			while (i < n && p[i] != '/')
				p[o++] = p[i++];
		}
	}
	return o;
}

/* A slice into w; an absent one (p == NULL) adds nothing. */
static void put_slice(struct bbuf *w, struct detour_slice s)
{
	if (s.len)
		bbuf_put(w, s.p, s.len);
}

detour_err detour_url_resolve(const char *base, size_t base_len, const char *ref, size_t ref_len,
                              char *out, size_t cap, size_t *out_len)
{
	struct detour_url b, r;
	if (detour_url_parse(base, base_len, &b) || !b.scheme.p)
		return DETOUR_EINVAL;
	if (detour_url_parse(ref, ref_len, &r))
		return DETOUR_EINVAL;

	/* §5.2.2, strict: T is built from R and Base. */
	struct detour_slice scheme = b.scheme, query = r.query;
	const struct detour_url *auth = b.has_authority ? &b : NULL;
	enum { P_REF, P_BASE, P_MERGE } pathsrc = P_REF;
	if (r.scheme.p) {
		scheme = r.scheme;
		auth = r.has_authority ? &r : NULL;
	} else if (r.has_authority) {
		auth = &r;
	} else if (r.path.len == 0) {
		/* T.path = Base.path; T.query = R.query if defined, else
		 * Base.query. No dot-segment removal here. */
		pathsrc = P_BASE;
		if (!r.query.p)
			query = b.query;
	} else if (r.path.p[0] != '/') {
		pathsrc = P_MERGE;
	}

	/* §5.3 recomposition */
	struct bbuf w;
	bbuf_fixed(&w, out, cap);
	put_slice(&w, scheme);
	bbuf_put(&w, ":", 1);
	if (auth) {
		bbuf_put(&w, "//", 2);
		if (auth->userinfo.p) {
			put_slice(&w, auth->userinfo);
			bbuf_put(&w, "@", 1);
		}
		put_slice(&w, auth->host);
		if (auth->port.p) {
			bbuf_put(&w, ":", 1);
			put_slice(&w, auth->port);
		}
	}
	size_t path_at = w.len;
	if (pathsrc == P_BASE) {
		put_slice(&w, b.path);
	} else {
		if (pathsrc == P_MERGE) {
			/* §5.2.3 merge: "/" + R.path if Base has an authority
			 * and an empty path, else Base.path up to and including
			 * its last "/" (nothing if it has none) + R.path. */
			if (b.has_authority && b.path.len == 0) {
				bbuf_put(&w, "/", 1);
			} else {
				size_t k = b.path.len;
				while (k > 0 && b.path.p[k - 1] != '/')
					k--;
				if (k)
					bbuf_put(&w, b.path.p, k);
			}
		}
		put_slice(&w, r.path);
		if (w.over)
			return DETOUR_ETOOBIG;
		w.len = path_at + remove_dot_segments(out + path_at, w.len - path_at);
		if (!auth && w.len - path_at >= 2 && out[path_at] == '/' &&
		    out[path_at + 1] == '/') {
			/* §5.3 would write "s:" + "//x" and make x an authority
			 * ("t:/.//x" resolves to the path "//x"). As the WHATWG
			 * URL serializer does, "/." keeps it a path: "t:/.//x". */
			size_t plen = w.len - path_at;
			bbuf_put(&w, "..", 2);
			if (w.over)
				return DETOUR_ETOOBIG;
			memmove(out + path_at + 2, out + path_at, plen);
			out[path_at] = '/';
			out[path_at + 1] = '.';
		}
	}
	if (query.p) {
		bbuf_put(&w, "?", 1);
		put_slice(&w, query);
	}
	if (r.fragment.p) {
		bbuf_put(&w, "#", 1);
		put_slice(&w, r.fragment);
	}
	bbuf_put(&w, "", 1); /* the NUL */
	if (w.over)
		return DETOUR_ETOOBIG;
	if (out_len)
		*out_len = w.len - 1;
	return DETOUR_OK;
}

/* Whether byte c is written as is (true) or as %HH (false) in mode. first is
 * true while no '/' has been written, i.e. inside the first path segment. */
static inline bool enc_keep(unsigned char c, enum detour_url_enc mode, bool first)
{
	if (cls[c] & C_UNRES)
		return true;
	if (mode == DETOUR_ENC_QUERY) {
		/* query = *( pchar / "/" / "?" ) minus what splits or ends a
		 * form value: '&', '=', '+' (a space in forms) and '#'. */
		switch (c) {
		case '!':
		case '$':
		case '\'':
		case '(':
		case ')':
		case '*':
		case ',':
		case ';':
		case ':':
		case '@':
		case '/':
		case '?':
			return true;
		default:
			return false;
		}
	}
	/* segment = *pchar; pchar = unreserved / pct-encoded / sub-delims / ":" / "@".
	 * A ':' in the first segment could make the value read as a scheme
	 * ("javascript:...") when it starts a Location, so it is encoded
	 * there (§4.2 path-noscheme); later segments keep it. */
	if (cls[c] & C_SUB)
		return true;
	if (c == '@')
		return true;
	if (c == ':')
		return !first;
	return false;
}

ssize_t detour_url_encode(const char *in, size_t len, enum detour_url_enc mode, char *out,
                          size_t cap)
{
	size_t o = 0;
	bool first = true;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		bool keep;
		if (c == '%') {
			if (pct_at(in, i, len)) {
				/* already encoded: kept as it is (§2.4: never encode twice) */
				if (cap - o < 3)
					return -1;
				memcpy(out + o, in + i, 3);
				o += 3;
				i += 2;
				continue;
			}
			keep = false; /* a stray '%' becomes "%25" */
		} else if (c == '/' && mode == DETOUR_ENC_PATH) {
			/* "//" at the start would make a network-path reference
			 * (§4.2): the second '/' becomes %2F. */
			keep = !(i == 1 && in[0] == '/');
			if (keep)
				first = false;
		} else {
			keep = enc_keep(c, mode, first);
		}
		if (keep) {
			if (o >= cap)
				return -1;
			out[o++] = (char)c;
		} else {
			if (cap - o < 3)
				return -1;
			out[o++] = '%';
			out[o++] = HEXU[c >> 4];
			out[o++] = HEXU[c & 15];
		}
	}
	return (ssize_t)o;
}

bool detour_url_query_has(const char *q, size_t qn, const char *k, size_t kn, const char *v,
                          size_t vn)
{
	size_t i = 0;

	while (i < qn) {
		const char *amp = memchr(q + i, '&', qn - i);
		size_t e = amp ? (size_t)(amp - q) : qn;
		const char *eq = memchr(q + i, '=', e - i);
		size_t ke = eq ? (size_t)(eq - q) : e;
		if (ke - i == kn && memcmp(q + i, k, kn) == 0) {
			if (v == NULL)
				return true;
			size_t vs = eq ? ke + 1 : e;
			if (e - vs == vn && memcmp(q + vs, v, vn) == 0)
				return true;
		}
		i = e + 1;
	}
	return false;
}

bool detour_url_scheme_is_http(const char *s, size_t n, bool *https)
{
	bool tls = ascii_eq_ci(s, n, "https");

	if (https)
		*https = tls;
	return tls || ascii_eq_ci(s, n, "http");
}

size_t detour_url_host_canon(char *host, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)host[i];
		if ((unsigned)(c - 'A') < 26u)
			host[i] = (char)(c | 0x20);
	}
	/* "example.com." and "example.com" name the same host (RFC 1034 §3.1) */
	if (len && host[len - 1] == '.')
		len--;
	return len;
}
