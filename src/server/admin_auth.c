/* detour server: the admin API's bearer tokens (admin_auth.h). Token files
 * hold "NAME TOKEN" or "TOKEN" a line, '#' comments; they are read at
 * start-up and on reload, and compared in constant time. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "admin_auth.h"
#include "base/ascii.h"

int admin_load_tokens(const char *path, struct token *out, unsigned *n, char *err, size_t cap)
{
	FILE *f = fopen(path, "re");
	char line[1024];
	unsigned ln = 0;

	*n = 0;
	if (f == NULL) {
		snprintf(err, cap, "token-file %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *name = NULL, *tok, *save = NULL, *extra;
		ln++;
		line[strcspn(line, "\r\n")] = '\0';
		char *first = strtok_r(line, " \t", &save);
		if (first == NULL || first[0] == '#')
			continue;
		tok = strtok_r(NULL, " \t", &save);
		if (tok) {
			name = first;
		} else {
			tok = first;
		}
		extra = strtok_r(NULL, " \t", &save);
		if (extra || strlen(tok) < 16 || strlen(tok) >= TOKEN_MAX ||
		    (name && strlen(name) >= sizeof(out->name))) {
			snprintf(err, cap,
			         "%s:%u: expected \"NAME TOKEN\" or \"TOKEN\", the token 16 to 255 "
			         "bytes",
			         path, ln);
			fclose(f);
			return -1;
		}
		if (*n == TOKENS_MAX) {
			snprintf(err, cap, "%s:%u: too many tokens (at most %d)", path, ln,
			         TOKENS_MAX);
			fclose(f);
			return -1;
		}
		struct token *t = &out[(*n)++];
		memset(t, 0, sizeof(*t));
		snprintf(t->name, sizeof(t->name), "%s", name ? name : "admin");
		t->len = strlen(tok);
		memcpy(t->secret, tok, t->len);
	}
	fclose(f);
	if (*n == 0) {
		snprintf(err, cap, "token-file %s: no token in it", path);
		return -1;
	}
	return 0;
}

/* Compares the presented token with every configured one, always all
 * TOKEN_MAX bytes of each, so the time does not depend on where (or
 * whether) a token differs. Returns the index matched or -1. */
static int token_match(struct admin *a, const char *p, size_t len)
{
	unsigned char given[TOKEN_MAX] = {0};
	int found = -1;

	memcpy(given, p, len < TOKEN_MAX ? len : TOKEN_MAX);
	pthread_mutex_lock(&a->tok_lock);
	for (unsigned i = 0; i < a->ntokens; i++) {
		volatile unsigned char d = (unsigned char)((a->tokens[i].len ^ len) != 0);
		for (size_t k = 0; k < TOKEN_MAX; k++)
			d |= given[k] ^ a->tokens[i].secret[k];
		/* Branch-free select of the first match. */
		int hit = (d == 0) & (found < 0);
		found = hit ? (int)i : found;
	}
	pthread_mutex_unlock(&a->tok_lock);
	return found;
}

const char *admin_authenticate(struct admin *a, const struct detour_request *r, char *who,
                               size_t cap)
{
	int i = detour_http1_find(r, "Authorization", 13, 0);
	const char *v = i >= 0 ? r->headers[i].value : "";
	size_t vl = i >= 0 ? r->headers[i].value_len : 0;
	int t = -1;

	/* RFC 6750 §2.1: "Bearer" b64token; the scheme is case-insensitive. */
	if (vl > 7 && ascii_prefix_ci(v, vl, "Bearer "))
		t = token_match(a, v + 7, vl - 7);
	else
		token_match(a, "", 0); /* the same work either way */
	if (t < 0)
		return i < 0 ? "missing bearer token" : "wrong token";
	pthread_mutex_lock(&a->tok_lock);
	snprintf(who, cap, "%s", a->tokens[t].name);
	pthread_mutex_unlock(&a->tok_lock);
	return NULL;
}
