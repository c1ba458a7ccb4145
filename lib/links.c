/* detour: the links of an HTML page (gumbo). See include/detour/links.h. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <gumbo.h>

#include "base/ascii.h"
#include "base/grow.h"
#include "detour/cssurl.h"
#include "detour/links.h"
#include "detour/location.h"
#include "detour/refresh.h"
#include "detour/srcset.h"

static const char *const kind_names[DETOUR_LINK_COUNT] = {
        "a",   "area",   "canonical", "alternate", "refresh",    "iframe",
        "img", "script", "form",      "srcset",    "stylesheet", "css",
};

const char *detour_link_kind_name(enum detour_link_kind k)
{
	return (unsigned)k < DETOUR_LINK_COUNT ? kind_names[k] : "?";
}

/* HTML's ASCII whitespace: TAB, LF, FF, CR, SPACE. */
static bool html_space(unsigned char ch)
{
	return ch == '\t' || ch == '\n' || ch == '\f' || ch == '\r' || ch == ' ';
}

struct ctx {
	const char *base;
	size_t base_len;
	char base_buf[DETOUR_LOCATION_URL_MAX];
	char out[DETOUR_LOCATION_URL_MAX];
	detour_link_fn fn;
	void *ud;
};

/* Resolves ref against the base and hands it to fn without its fragment. */
static void emit(struct ctx *c, enum detour_link_kind k, const char *ref, size_t rl)
{
	size_t n;
	/* An HTML attribute value is a "valid URL potentially surrounded by
	 * spaces": the URL parser trims them; an empty one is the page itself
	 * and links nowhere new. */
	while (rl && html_space((unsigned char)*ref))
		ref++, rl--;
	while (rl && html_space((unsigned char)ref[rl - 1]))
		rl--;
	if (!rl || ref[0] == '#')
		return;
	if (detour_location_resolve(DETOUR_AS_BROWSER, c->base, c->base_len, ref, rl, c->out,
	                            sizeof(c->out), &n, NULL) != DETOUR_OK)
		return;
	char *hash = memchr(c->out, '#', n);
	if (hash) {
		*hash = 0;
		n = (size_t)(hash - c->out);
	}
	c->fn(c->ud, k, c->out, n);
}

static void on_srcset(void *ud, const char *url, size_t len)
{
	emit(ud, DETOUR_LINK_SRCSET, url, len);
}

static void on_css(void *ud, const char *url, size_t len)
{
	emit(ud, DETOUR_LINK_CSS, url, len);
}

static const char *attr(const GumboElement *e, const char *name)
{
	const GumboAttribute *a = gumbo_get_attribute(&e->attributes, name);
	return a ? a->value : NULL;
}

/* Whether the space-separated token list v holds tok (without case). */
static bool has_token(const char *v, const char *tok)
{
	size_t tl = strlen(tok);
	while (v && *v) {
		while (*v && html_space((unsigned char)*v))
			v++;
		size_t l = 0;
		while (v[l] && !html_space((unsigned char)v[l]))
			l++;
		if (l == tl && ascii_eq_ci(v, l, tok))
			return true;
		v += l;
	}
	return false;
}

/* Whether n is a <picture> element: gumbo 0.10 predates it, so it is an
 * unknown tag named by its source text. */
static bool is_picture(const GumboNode *n)
{
	if (!n || n->type != GUMBO_NODE_ELEMENT || n->v.element.tag != GUMBO_TAG_UNKNOWN)
		return false;
	GumboStringPiece t = n->v.element.original_tag;
	gumbo_tag_from_original_text(&t);
	return ascii_eq_ci(t.data, t.length, "picture");
}

static void element(struct ctx *c, const GumboNode *node)
{
	const GumboElement *e = &node->v.element;
	const char *v;

	/* A style attribute is a declaration list (CSS Style Attributes);
	 * its url()s resolve against the document's base URL. */
	if ((v = attr(e, "style")))
		detour_cssurl_parse(v, strlen(v), on_css, c);
	switch (e->tag) {
	case GUMBO_TAG_A:
	case GUMBO_TAG_AREA:
		if ((v = attr(e, "href")))
			emit(c, e->tag == GUMBO_TAG_A ? DETOUR_LINK_A : DETOUR_LINK_AREA, v,
			     strlen(v));
		break;
	case GUMBO_TAG_LINK:
		if (!(v = attr(e, "href")))
			break;
		if (has_token(attr(e, "rel"), "canonical"))
			emit(c, DETOUR_LINK_CANONICAL, v, strlen(v));
		else if (has_token(attr(e, "rel"), "alternate") && attr(e, "hreflang"))
			emit(c, DETOUR_LINK_ALTERNATE, v, strlen(v));
		else if (has_token(attr(e, "rel"), "stylesheet"))
			emit(c, DETOUR_LINK_STYLESHEET, v, strlen(v));
		break;
	case GUMBO_TAG_STYLE:
		/* The element's text is a style sheet; gumbo keeps a raw text
		 * element's contents as text nodes. */
		for (unsigned i = 0; i < e->children.length; i++) {
			const GumboNode *k = e->children.data[i];
			if (k->type == GUMBO_NODE_TEXT || k->type == GUMBO_NODE_WHITESPACE)
				detour_cssurl_parse(k->v.text.text, strlen(k->v.text.text), on_css,
				                    c);
		}
		break;
	case GUMBO_TAG_SOURCE:
		/* <picture>'s <source srcset> (HTML "update the image data"
		 * reads only those); a media element's <source src> is not
		 * one of the kinds crawled. */
		if (is_picture(node->parent) && (v = attr(e, "srcset")))
			detour_srcset_parse(v, strlen(v), on_srcset, c);
		break;
	case GUMBO_TAG_META: {
		const char *he = attr(e, "http-equiv");
		struct detour_refresh r;
		if (he && ascii_eq_ci(he, strlen(he), "refresh") && (v = attr(e, "content")) &&
		    detour_refresh_parse(v, strlen(v), &r) == DETOUR_OK && r.url.p)
			emit(c, DETOUR_LINK_REFRESH, r.url.p, r.url.len);
		break;
	}
	case GUMBO_TAG_IFRAME:
	case GUMBO_TAG_IMG:
	case GUMBO_TAG_SCRIPT:
		if ((v = attr(e, "src")))
			emit(c,
			     e->tag == GUMBO_TAG_IFRAME ? DETOUR_LINK_IFRAME
			     : e->tag == GUMBO_TAG_IMG  ? DETOUR_LINK_IMG
			                                : DETOUR_LINK_SCRIPT,
			     v, strlen(v));
		/* Every candidate of srcset: which one a browser picks depends
		 * on the screen, and any of them may be requested. */
		if (e->tag == GUMBO_TAG_IMG && (v = attr(e, "srcset")))
			detour_srcset_parse(v, strlen(v), on_srcset, c);
		break;
	case GUMBO_TAG_FORM:
		if ((v = attr(e, "action")))
			emit(c, DETOUR_LINK_FORM, v, strlen(v));
		break;
	default:
		break;
	}
}

/* Visits the elements under root in document order, without recursion (a
 * page may nest deeply), calling element() or, with base_only, stopping at
 * the first <base href>. Returns that element's href, or NULL. Returns
 * NULL and sets *oom when out of memory. */
static const char *walk(struct ctx *c, const GumboNode *root, bool base_only, bool *oom)
{
	const GumboNode **stack = NULL;
	size_t n = 0, cap = 0;
	const char *found = NULL;

	if (BASE_GROW(stack, cap, 1)) {
		*oom = true;
		return NULL;
	}
	stack[n++] = root;
	while (n) {
		const GumboNode *node = stack[--n];
		if (node->type != GUMBO_NODE_ELEMENT && node->type != GUMBO_NODE_TEMPLATE &&
		    node->type != GUMBO_NODE_DOCUMENT)
			continue;
		const GumboVector *kids = node->type == GUMBO_NODE_DOCUMENT
		                                  ? &node->v.document.children
		                                  : &node->v.element.children;
		if (node->type != GUMBO_NODE_DOCUMENT) {
			const GumboElement *e = &node->v.element;
			if (base_only) {
				if (e->tag == GUMBO_TAG_BASE && (found = attr(e, "href")))
					break;
			} else {
				element(c, node);
			}
		}
		if (BASE_GROW(stack, cap, n + kids->length)) {
			*oom = true;
			break;
		}
		/* Children pushed last first, so the first is visited next. */
		for (unsigned i = kids->length; i-- > 0;)
			stack[n++] = kids->data[i];
	}
	free(stack);
	return found;
}

detour_err detour_links_extract(const char *html, size_t len, const char *page_url,
                                detour_link_fn fn, void *ud)
{
	struct ctx *c = malloc(sizeof(*c));
	bool oom = false;
	if (!c)
		return DETOUR_ENOMEM;
	c->fn = fn;
	c->ud = ud;
	c->base = page_url;
	c->base_len = strlen(page_url);
	GumboOutput *out = gumbo_parse_with_options(&kGumboDefaultOptions, html, len);
	if (!out) {
		free(c);
		return DETOUR_ENOMEM;
	}
	const char *b = walk(c, out->document, true, &oom);
	size_t bl;
	if (b && !oom &&
	    detour_location_resolve(DETOUR_AS_BROWSER, page_url, c->base_len, b, strlen(b),
	                            c->base_buf, sizeof(c->base_buf), &bl, NULL) == DETOUR_OK) {
		c->base = c->base_buf;
		c->base_len = bl;
	}
	if (!oom)
		walk(c, out->document, false, &oom);
	gumbo_destroy_output(&kGumboDefaultOptions, out);
	free(c);
	return oom ? DETOUR_ENOMEM : DETOUR_OK;
}

detour_err detour_links_css(const char *css, size_t len, const char *sheet_url, detour_link_fn fn,
                            void *ud)
{
	struct ctx *c = malloc(sizeof(*c));
	if (!c)
		return DETOUR_ENOMEM;
	c->fn = fn;
	c->ud = ud;
	c->base = sheet_url;
	c->base_len = strlen(sheet_url);
	detour_cssurl_parse(css, len, on_css, c);
	free(c);
	return DETOUR_OK;
}
