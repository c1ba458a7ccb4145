/* detour command line: shared helpers (see cli_util.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/civil.h"
#include "base/esc.h"
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

json_t *cli_json_strn(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t bad = 0;

	if (s == NULL)
		return json_null();
	for (size_t i = 0, k; i < n; i += k ? k : 1)
		if ((k = utf8_seq_len(p + i, n - i)) == 0)
			bad++;
	if (bad == 0)
		return json_stringn(s, n);
	/* Each stray byte becomes two (U+0080..U+00FF in UTF-8). */
	char *u = malloc(n + bad + 1);
	size_t o = 0;
	if (u == NULL)
		return NULL;
	for (size_t i = 0, k; i < n; i += k) {
		k = utf8_seq_len(p + i, n - i);
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
		/* jansson writes DEL and the C1 controls raw (RFC 8259 allows
		 * it); a terminal could take them as controls. */
		struct bbuf b;
		bbuf_init(&b, SIZE_MAX / 2);
		esc_json_text(&b, s, strlen(s));
		BBUF_LIT(&b, "\n");
		if (bbuf_ok(&b))
			fwrite(b.p, 1, b.len, f);
		else
			rc = -1;
		bbuf_free(&b);
	}
	free(s);
	json_decref(v);
	return rc;
}

int cli_write_out(const char *name, const char *out, const char *buf, size_t len)
{
	FILE *f = out ? fopen(out, "wb") : stdout;
	int bad = f == NULL || fwrite(buf, 1, len, f) != len;

	if (f && (out ? fclose(f) : fflush(f)))
		bad = 1;
	if (bad) {
		fprintf(stderr, "detour %s: %s: %s\n", name, out ? out : "stdout", strerror(errno));
		return -1;
	}
	return 0;
}
