/* detour: sitemaps (libxml2, zlib). See include/detour/sitemap.h. */
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <zlib.h>

#include "detour/sitemap.h"

/* Inflates gzip data into new memory (at most DETOUR_SITEMAP_MAX_BYTES).
 * Returns DETOUR_OK with *out and *out_len, or an error. */
static detour_err gunzip(const char *in, size_t len, char **out, size_t *out_len)
{
	z_stream z;
	size_t cap = len * 4 + 4096, n = 0;
	char *buf;
	int rc;

	if (cap > DETOUR_SITEMAP_MAX_BYTES)
		cap = DETOUR_SITEMAP_MAX_BYTES;
	if (!(buf = malloc(cap)))
		return DETOUR_ENOMEM;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) { /* 16: gzip framing */
		free(buf);
		return DETOUR_ENOMEM;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
	do {
		if (n == cap) {
			if (cap >= DETOUR_SITEMAP_MAX_BYTES) {
				rc = Z_BUF_ERROR;
				break;
			}
			size_t nc = cap * 2 > DETOUR_SITEMAP_MAX_BYTES ? DETOUR_SITEMAP_MAX_BYTES
			                                               : cap * 2;
			char *nb = realloc(buf, nc);
			if (!nb) {
				rc = Z_MEM_ERROR;
				break;
			}
			buf = nb;
			cap = nc;
		}
		z.next_out = (Bytef *)buf + n;
		z.avail_out = (uInt)(cap - n);
		rc = inflate(&z, Z_NO_FLUSH);
		n = cap - z.avail_out;
	} while (rc == Z_OK);
	inflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(buf);
		return rc == Z_MEM_ERROR ? DETOUR_ENOMEM
		       : rc == Z_BUF_ERROR
		               ? (n >= DETOUR_SITEMAP_MAX_BYTES ? DETOUR_ETOOBIG : DETOUR_EINVAL)
		               : DETOUR_EINVAL;
	}
	*out = buf;
	*out_len = n;
	return DETOUR_OK;
}

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* Calls fn with s[0..n) trimmed, if anything is left. */
static void emit(detour_sitemap_fn fn, void *ud, bool index, const char *s, size_t n)
{
	while (n && is_space((unsigned char)*s))
		s++, n--;
	while (n && is_space((unsigned char)s[n - 1]))
		n--;
	if (!n)
		return;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
			return; /* a control byte (NUL too): no URL */
	char *c = malloc(n + 1);
	if (!c)
		return;
	memcpy(c, s, n);
	c[n] = 0;
	fn(ud, index, c, n);
	free(c);
}

static bool named(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

/* A text sitemap: "one URL per line" (sitemaps.org, "Text file"). */
static detour_err text(const char *s, size_t len, detour_sitemap_fn fn, void *ud)
{
	const char *p = s, *end = s + len;
	while (p < end) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		if (!e)
			e = end;
		emit(fn, ud, false, p, (size_t)(e - p));
		p = e + 1;
	}
	return DETOUR_OK;
}

static detour_err xml(const char *s, size_t len, detour_sitemap_fn fn, void *ud)
{
	/* No network, no entity substitution (XML_PARSE_NOENT off: an
	 * external entity is never loaded), libxml2's default limits on
	 * entity amplification and depth (no XML_PARSE_HUGE). */
	xmlDoc *doc = xmlReadMemory(s, (int)len, NULL, NULL,
	                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
	                                    XML_PARSE_NOCDATA);
	if (!doc)
		return DETOUR_EINVAL;
	xmlNode *root = xmlDocGetRootElement(doc);
	detour_err err = DETOUR_OK;
	bool index = root && named(root, "sitemapindex");
	if (!root || (!index && !named(root, "urlset"))) {
		err = DETOUR_EINVAL;
	} else {
		for (xmlNode *e = root->children; e; e = e->next) {
			if (!named(e, index ? "sitemap" : "url"))
				continue;
			for (xmlNode *l = e->children; l; l = l->next) {
				if (!named(l, "loc"))
					continue;
				xmlChar *t = xmlNodeGetContent(l);
				if (t) {
					emit(fn, ud, index, (const char *)t, strlen((char *)t));
					xmlFree(t);
				}
				break;
			}
		}
	}
	xmlFreeDoc(doc);
	return err;
}

detour_err detour_sitemap_parse(const char *buf, size_t len, detour_sitemap_fn fn, void *ud)
{
	char *plain = NULL;
	size_t plen = len;
	detour_err err;

	if (len >= 2 && (unsigned char)buf[0] == 0x1f && (unsigned char)buf[1] == 0x8b) {
		if ((err = gunzip(buf, len, &plain, &plen)))
			return err;
		buf = plain;
	}
	if (plen > DETOUR_SITEMAP_MAX_BYTES || plen > INT32_MAX) {
		free(plain);
		return DETOUR_ETOOBIG;
	}
	size_t i = 0;
	if (plen >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3))
		i = 3;
	while (i < plen && is_space((unsigned char)buf[i]))
		i++;
	if (i < plen && buf[i] == '<')
		err = xml(buf, plen, fn, ud);
	else
		err = text(buf, plen, fn, ud);
	free(plain);
	return err;
}
