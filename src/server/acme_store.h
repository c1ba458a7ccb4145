/* detour server: the ACME client's files under state-dir:
 *     STATE/acme/CA/account.key       the account key (PKCS #8 PEM)
 *     STATE/acme/CA/HOST.crt          leaf + intermediates as the CA sent them
 *     STATE/acme/CA/HOST.key          the certificate's key
 * CA is the directory URL's host (and port), so that a staging CA and a
 * production CA never mix. Every file is mode 0600 and written atomically
 * (a temporary file in the same directory, fsync, rename, fsync of the
 * directory), so a crash leaves the old file or the new one, never half. */
#ifndef DETOUR_ACME_STORE_H
#define DETOUR_ACME_STORE_H

#include <stddef.h>

#include "detour/config.h"

/* The directory for conf's CA, "STATE/acme/CA", into out. Returns 0, or -1
 * when it does not fit. */
int acme_store_dir(const struct detour_config *conf, char *out, size_t cap);

/* Creates dir and its parents (mode 0700). Returns 0 or -1 with errno. */
int acme_store_mkdir(const char *dir);

/* Writes data[0..len) to dir/name atomically, mode 0600. Returns 0, or -1
 * with the reason in err. */
int acme_store_write(const char *dir, const char *name, const void *data, size_t len, char *err,
                     size_t errlen);

/* Reads dir/name whole (at most 1 MiB): new memory, NUL-ended, *len its
 * length; NULL when absent (errno ENOENT) or unreadable. */
char *acme_store_read(const char *dir, const char *name, size_t *len);

#endif
