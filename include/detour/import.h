/* detour: `detour import FORMAT FILE`: another server's redirects -> a
 * rules file. One converter per format (lib/import_*.c), all writing a
 * struct detour_import (import_out.h). See docs/import.md. */
#ifndef DETOUR_IMPORT_H
#define DETOUR_IMPORT_H

#include <stddef.h>

#include "detour/common.h"
#include "detour/import_out.h"

/* The formats, as the command line names them, ", "-separated. */
#define DETOUR_IMPORT_FORMATS                                                                      \
	"apache, nginx, netlify, netlify-toml, cloudflare, vercel, redirection"

/* Converts buf[0..len) (the file im->file) read as format. Returns DETOUR_OK
 * (what was skipped is in im), DETOUR_EINVAL when format is unknown or the
 * file cannot be parsed at all (d filled), DETOUR_ENOMEM. */
detour_err detour_import_run(const char *format, const char *buf, size_t len,
                             struct detour_import *im, struct detour_diag *d);

#endif
