/* detour check: the leaf of the command (see check_util.h): memory that
 * does not fail, findings, hops, chains, whole files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ascii.h"
#include "base/grow.h"
#include "check_util.h"

void check_oom(void)
{
	fprintf(stderr, "detour check: out of memory\n");
	exit(2);
}

void *check_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		check_oom();
	return p;
}

char *check_strndup(const char *s, size_t n)
{
	char *p = check_xmalloc(n + 1);
	if (n)
		memcpy(p, s, n);
	p[n] = 0;
	return p;
}

char *check_strdup(const char *s)
{
	return s ? check_strndup(s, strlen(s)) : NULL;
}

void check_finding(struct chain *c, enum detour_finding f, int hop, const char *fmt, ...)
{
	va_list ap;
	char msg[1024];
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (BASE_GROW(c->f, c->capf, c->nf + 1))
		check_oom();
	c->f[c->nf].code = f;
	c->f[c->nf].hop = hop;
	c->f[c->nf].msg = check_strdup(msg);
	c->nf++;
}

struct hop *check_new_hop(struct chain *c)
{
	if (BASE_GROW(c->h, c->caph, c->nh + 1))
		check_oom();
	struct hop *h = &c->h[c->nh++];
	memset(h, 0, sizeof(*h));
	return h;
}

void check_add_chain(struct chain **v, size_t *n, size_t *cap, const char *url, int st,
                     const char *loc)
{
	if (BASE_GROW(*v, *cap, *n + 1))
		check_oom();
	struct chain *c = &(*v)[(*n)++];
	memset(c, 0, sizeof(*c));
	c->url = check_strdup(url);
	c->expect_status = st;
	c->expect_location = check_strdup(loc);
}

void check_chain_free(struct chain *c)
{
	for (size_t i = 0; i < c->nh; i++) {
		struct hop *h = &c->h[i];
		free(h->url);
		free(h->loc_raw);
		free(h->loc_resolved);
		free(h->sts);
		free(h->cookies);
		free(h->vary);
		free(h->req_headers);
		free(h->error);
		free(h->refresh_url);
		free(h->resp_head);
	}
	free(c->h);
	c->h = NULL;
	c->nh = 0;
	for (size_t i = 0; i < c->nf; i++)
		free(c->f[i].msg);
	free(c->f);
	c->f = NULL;
	c->nf = 0;
	free(c->page);
	c->page = NULL;
	c->page_len = 0;
}

void check_chains_free(struct chain *chains, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		check_chain_free(&chains[i]);
		free(chains[i].url);
		free(chains[i].expect_location);
		free(chains[i].label);
	}
	free(chains);
}

char *check_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (BASE_GROW(buf, cap, n + 65536))
			check_oom();
		size_t k = fread(buf + n, 1, cap - n - 1, f);
		if (!k)
			break;
		n += k;
	}
	int err = ferror(f);
	fclose(f);
	if (err) {
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

bool check_parse_header(const char *s, struct detour_header *h)
{
	const char *colon = strchr(s, ':');
	if (!colon || colon == s)
		return false;
	for (const char *p = s; p < colon; p++)
		if (!ascii_is_tchar((unsigned char)*p))
			return false; /* field-name = token (RFC 9110 §5.1) */
	const char *v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	size_t vl = strlen(v);
	while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		vl--;
	for (size_t i = 0; i < vl; i++)
		if (v[i] == '\r' || v[i] == '\n' || v[i] == 0)
			return false;
	h->name = s;
	h->name_len = (size_t)(colon - s);
	h->value = v;
	h->value_len = vl;
	return true;
}

bool check_resolve_ok(const char *s)
{
	if (*s == '+')
		s++;
	const char *c1 = strchr(s, ':');
	if (!c1 || c1 == s)
		return false;
	char *end;
	long port = strtol(c1 + 1, &end, 10);
	return end != c1 + 1 && ascii_is_digit((unsigned char)c1[1]) && *end == ':' && port >= 1 &&
	       port <= 65535 && end[1];
}
