/* detour: sites from the public suffix list (libpsl). See
 * include/detour/site.h. */
#include <string.h>

#include <libpsl.h>

#include "base/ascii.h"
#include "detour/site.h"

/* A DNS name is at most 253 bytes (RFC 1035 §2.3.4, without the root). */
#define NAME_MAX_BYTES 253

static bool is_ip(const char *h, size_t n)
{
	if (n && h[0] == '[')
		return true;
	/* WHATWG URL: a host whose last label is numeric is an IPv4 address. */
	size_t s = n;
	while (s > 0 && h[s - 1] != '.')
		s--;
	return s < n && ascii_is_digit((unsigned char)h[s]);
}

/* libpsl's built-in list: compiled into libpsl, never freed, no global of
 * ours. */
static const psl_ctx_t *list(void)
{
	return psl_builtin();
}

struct detour_slice detour_site_of(const char *host, size_t n)
{
	char name[NAME_MAX_BYTES + 1];
	struct detour_slice self = {host, n};

	if (n && host[n - 1] == '.')
		n--;
	self.len = n;
	if (!n || n > NAME_MAX_BYTES || is_ip(host, n) || !list())
		return self;
	memcpy(name, host, n);
	name[n] = 0;
	const char *r = psl_registrable_domain(list(), name);
	if (!r)
		return self; /* a public suffix is its own site */
	size_t off = (size_t)(r - name);
	return (struct detour_slice){host + off, n - off};
}

bool detour_site_is_public_suffix(const char *name, size_t n)
{
	char b[NAME_MAX_BYTES + 1];

	if (n && name[n - 1] == '.')
		n--;
	if (!n || n > NAME_MAX_BYTES || is_ip(name, n))
		return false;
	if (!list())
		return memchr(name, '.', n) == NULL; /* no list: one label */
	memcpy(b, name, n);
	b[n] = 0;
	return psl_is_public_suffix(list(), b) != 0;
}
