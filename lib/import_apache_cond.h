/* detour import apache: one RewriteCond as detour conditions (%{HTTP_HOST},
 * %{HTTP:Name}, %{HTTP_COOKIE}, %{QUERY_STRING}, %{REQUEST_METHOD},
 * %{REMOTE_ADDR}, ...). See docs/import.md. */
#ifndef DETOUR_IMPORT_APACHE_COND_H
#define DETOUR_IMPORT_APACHE_COND_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"

/* One RewriteCond as read. */
struct detour_apache_cond {
	unsigned line;
	char *test, *pattern;
	bool nc, or_next;
};

/* Appends c as detour options (" if-header=...") to b. Returns NULL, or why
 * it cannot be expressed (a constant, or whybuf[0..whycap) filled). */
const char *detour_import_apache_cond(const struct detour_apache_cond *c, struct bbuf *b,
                                      char *whybuf, size_t whycap);

#endif
