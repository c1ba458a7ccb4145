/* detour command line: shared helpers (see cli_util.h). */
#include <stdlib.h>
#include <string.h>

#include "base/civil.h"
#include "cli_util.h"

int cli_clock(const char *at, struct cli_clock *c)
{
	const char *source = at ? "--at" : "DETOUR_NOW";
	int64_t t;
	int rc;

	if (at == NULL)
		at = getenv("DETOUR_NOW");
	c->now = time(NULL);
	c->source = NULL;
	c->value = NULL;
	rc = civil_now_override(at, &t);
	if (rc == 0)
		return 0;
	c->source = source;
	c->value = at;
	if (rc < 0)
		return -1;
	c->now = (time_t)t;
	return 0;
}

/* Length of the valid UTF-8 sequence at s[0..n) (RFC 3629 §4: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t k;
	unsigned c = s[0], min;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		k = 2;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		k = 3;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		k = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < k)
		return 0;
	unsigned cp = c & (0x3Fu >> (k - 1));
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3Fu);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return k;
}

json_t *cli_json_strn(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t bad = 0;

	if (s == NULL)
		return json_null();
	for (size_t i = 0, k; i < n; i += k ? k : 1)
		if ((k = utf8_len(p + i, n - i)) == 0)
			bad++;
	if (bad == 0)
		return json_stringn(s, n);
	/* Each stray byte becomes two (U+0080..U+00FF in UTF-8). */
	char *u = malloc(n + bad + 1);
	size_t o = 0;
	if (u == NULL)
		return NULL;
	for (size_t i = 0, k; i < n; i += k) {
		k = utf8_len(p + i, n - i);
		if (k) {
			memcpy(u + o, p + i, k);
			o += k;
		} else {
			u[o++] = (char)(0xC0 | (p[i] >> 6));
			u[o++] = (char)(0x80 | (p[i] & 0x3F));
			k = 1;
		}
	}
	json_t *v = json_stringn(u, o);
	free(u);
	return v;
}

json_t *cli_json_str(const char *s)
{
	return s ? cli_json_strn(s, strlen(s)) : json_null();
}

int cli_json_print(json_t *v, FILE *f)
{
	/* Times are the only reals (check's time_ms): 15 significant digits
	 * print a millisecond count rounded to the microsecond as it is. */
	char *s = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))
	            : NULL;
	int rc = s ? 0 : -1;

	if (s) {
		fputs(s, f);
		fputc('\n', f);
	}
	free(s);
	json_decref(v);
	return rc;
}
