/* detour server: bearer tokens: the token file, the constant-time check.
 * Runs on the admin thread (admin_data.h); see docs/internals/admin.md. */
#ifndef DETOUR_ADMIN_AUTH_H
#define DETOUR_ADMIN_AUTH_H

#include "admin_data.h"

/* Reads a token file ("NAME TOKEN" or "TOKEN" a line, '#' comments) into
 * out (TOKENS_MAX entries). Returns 0, or -1 with err. */
int admin_load_tokens(const char *path, struct token *out, unsigned *n, char *err, size_t cap);

/* Checks r's "Authorization: Bearer" against the tokens. Returns NULL and
 * the token's name in who, or the message of the 401 to answer. */
const char *admin_authenticate(struct admin *a, const struct detour_request *r, char *who,
                               size_t cap);

#endif
