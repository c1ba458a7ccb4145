/* detour: error names and located diagnostics. */
#include <stdio.h>
#include <string.h>

#include "detour/common.h"

const char *detour_strerror(detour_err err)
{
	switch (err) {
	case DETOUR_OK:
		return "success";
	case DETOUR_INCOMPLETE:
		return "incomplete input";
	case DETOUR_EINVAL:
		return "invalid input";
	case DETOUR_ENOMEM:
		return "out of memory";
	case DETOUR_ETOOBIG:
		return "input over a limit";
	case DETOUR_EIO:
		return "input/output error";
	case DETOUR_EUNSUPPORTED:
		return "not supported";
	}
	return "unknown error";
}

void detour_diag_set(struct detour_diag *d, const char *file, unsigned line, unsigned col,
                     const char *fmt, ...)
{
	va_list ap;

	if (d == NULL)
		return;
	d->file = file;
	d->line = line;
	d->col = col;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
}

void detour_diags_add(struct detour_diags *ds, const struct detour_diag *d)
{
	if (ds->n < DETOUR_DIAGS_MAX)
		ds->d[ds->n++] = *d;
	ds->total++;
}

const char *detour_diag_format(const struct detour_diag *d, char *buf, size_t cap)
{
	if (d->file && d->line && d->col)
		snprintf(buf, cap, "%s:%u:%u: %s", d->file, d->line, d->col, d->msg);
	else if (d->file && d->line)
		snprintf(buf, cap, "%s:%u: %s", d->file, d->line, d->msg);
	else if (d->file)
		snprintf(buf, cap, "%s: %s", d->file, d->msg);
	else
		snprintf(buf, cap, "%s", d->msg);
	return buf;
}
