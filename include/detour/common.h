/* detour: shared library types. Every libdetour call reports through
 * detour_err; parsers also fill a caller-owned struct detour_diag so that no
 * error path allocates. */
#ifndef DETOUR_COMMON_H
#define DETOUR_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define DETOUR_VERSION "0.1.0"

typedef enum detour_err {
	DETOUR_OK = 0,
	DETOUR_INCOMPLETE,   /* feed me more bytes */
	DETOUR_EINVAL,       /* malformed input */
	DETOUR_ENOMEM,       /* allocation failed */
	DETOUR_ETOOBIG,      /* input over a configured limit */
	DETOUR_EIO,          /* reading a file failed (errno in the diag) */
	DETOUR_EUNSUPPORTED, /* well formed, but not something detour does */
} detour_err;

/* Returns a static string naming err. Never NULL. */
const char *detour_strerror(detour_err err);

/* A located diagnostic. file is borrowed (must outlive the diag); line and col
 * are 1-based, 0 when unknown. */
struct detour_diag {
	const char *file;
	unsigned line;
	unsigned col;
	char msg[512];
};

/* Fills d (if non-NULL) with a printf-style message and a location. */
void detour_diag_set(struct detour_diag *d, const char *file, unsigned line, unsigned col,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Formats d as "file:line:col: msg" (parts that are unknown are left out)
 * into buf; returns buf. */
const char *detour_diag_format(const struct detour_diag *d, char *buf, size_t cap);

/* Every error of one load, as a compiler reports them: the first
 * DETOUR_DIAGS_MAX kept in the order found, the rest only counted (the
 * caller prints "N more errors"). Caller-owned, zero-initialised. */
#define DETOUR_DIAGS_MAX 20
struct detour_diags {
	struct detour_diag d[DETOUR_DIAGS_MAX];
	unsigned n;     /* kept in d[] */
	unsigned total; /* found, kept or not */
};

/* Adds a copy of d to ds (counted only when ds is full). */
void detour_diags_add(struct detour_diags *ds, const struct detour_diag *d);

/* A borrowed byte range. */
struct detour_slice {
	const char *p;
	size_t len;
};

#endif
