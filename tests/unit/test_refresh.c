/* Unit tests for lib/refresh.c: the HTML "shared declarative refresh steps"
 * and finding the first <meta http-equiv=refresh> of a document. */
#include <stdio.h>

#include "unit.h"

#include "detour/refresh.h"

struct pcase {
	const char *in;
	detour_err err;
	uint32_t delay;
	const char *url; /* NULL: no URL */
};

static const struct pcase pcases[] = {
        {"0", DETOUR_OK, 0, NULL},
        {"5", DETOUR_OK, 5, NULL},
        {"  7  ", DETOUR_OK, 7, NULL},
        {"0;url=/x", DETOUR_OK, 0, "/x"},
        {"0; URL=/x", DETOUR_OK, 0, "/x"},
        {"0, url = /x", DETOUR_OK, 0, "/x"},
        {"3;url='/a b'c", DETOUR_OK, 3, "/a b"},
        {"3;url=\"/q\"", DETOUR_OK, 3, "/q"},
        {"3;'/q'", DETOUR_OK, 3, "/q"},
        {"0;/plain", DETOUR_OK, 0, "/plain"},
        {"0 /space", DETOUR_OK, 0, "/space"},
        {"1.5;url=/f", DETOUR_OK, 1, "/f"},
        {".5;url=/d", DETOUR_OK, 0, "/d"},
        {"0;urlx=/y", DETOUR_OK, 0, "urlx=/y"},
        {"0;u=/y", DETOUR_OK, 0, "u=/y"},
        {"0;url /y", DETOUR_OK, 0, "url /y"},
        {"99999999999;url=/big", DETOUR_OK, UINT32_MAX, "/big"},
        {"", DETOUR_EINVAL, 0, NULL},
        {"url=/x", DETOUR_EINVAL, 0, NULL},
        {";url=/x", DETOUR_EINVAL, 0, NULL},
        {"5x;url=/x", DETOUR_EINVAL, 0, NULL},
        {"-1;url=/x", DETOUR_EINVAL, 0, NULL},
};

static void test_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		const struct pcase *c = &pcases[i];
		struct guard g;
		char *in = guard_copy(&g, c->in, strlen(c->in));
		struct detour_refresh r;
		detour_err err = detour_refresh_parse(in, strlen(c->in), &r);
		if (err != c->err ||
		    (!err && (r.delay != c->delay || (c->url == NULL) != (r.url.p == NULL) ||
		              (c->url && (r.url.len != strlen(c->url) ||
		                          memcmp(r.url.p, c->url, r.url.len)))))) {
			fprintf(stderr, "case %zu '%s': err %d delay %u url '%.*s'\n", i, c->in,
			        err, r.delay, (int)r.url.len, r.url.p ? r.url.p : "");
			fail();
		}
		guard_free(&g);
	}
}

struct mcase {
	const char *html;
	detour_err err;
	uint32_t delay;
	const char *url;
};

static const struct mcase mcases[] = {
        {"<meta http-equiv=refresh content='0;url=/a'>", DETOUR_OK, 0, "/a"},
        {"<META HTTP-EQUIV=\"Refresh\" CONTENT=\"2; URL=/b?x=1&amp;y=2\">", DETOUR_OK, 2,
         "/b?x=1&y=2"},
        {"<meta content=\"0;url=/c\" http-equiv=\"refresh\"/>", DETOUR_OK, 0, "/c"},
        {"<!-- <meta http-equiv=refresh content=0;url=/no> --><meta http-equiv=refresh "
         "content=1;url=/yes>",
         DETOUR_OK, 1, "/yes"},
        {"<script>'<meta http-equiv=refresh content=0;url=/no>'</script><meta "
         "http-equiv=refresh content=0;url=/s>",
         DETOUR_OK, 0, "/s"},
        {"<noscript><meta http-equiv=refresh content=0;url=/no></noscript>", DETOUR_EINVAL, 0,
         NULL},
        {"<template><meta http-equiv=refresh content=0;url=/t></template>", DETOUR_EINVAL, 0, NULL},
        {"<meta http-equiv=refresh content='bad'><meta http-equiv=refresh content='4'>", DETOUR_OK,
         4, NULL},
        {"<meta http-equiv=refresh>", DETOUR_EINVAL, 0, NULL},
        {"<meta name=refresh content=0;url=/x>", DETOUR_EINVAL, 0, NULL},
        {"<metax http-equiv=refresh content=0;url=/x>", DETOUR_EINVAL, 0, NULL},
        {"<meta http-equiv=refresh content=0;url=/first content=0;url=/second>", DETOUR_OK, 0,
         "/first"},
        {"<meta http-equiv=refresh content='0;url=/&#x41;&#66;&#0;'>", DETOUR_OK, 0,
         "/AB\xef\xbf\xbd"},
        {"<meta http-equiv=refresh content='0;url=/a?b=1&ampc'>", DETOUR_OK, 0, "/a?b=1&ampc"},
        {"<meta http-equiv=refresh content='0;url=/unterminated", DETOUR_OK, 0, "/unterminated"},
        {"<", DETOUR_EINVAL, 0, NULL},
        {"", DETOUR_EINVAL, 0, NULL},
};

static void test_meta(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mcases) / sizeof(mcases[0]); i++) {
		const struct mcase *c = &mcases[i];
		struct guard g;
		char *in = guard_copy(&g, c->html, strlen(c->html));
		char scratch[256];
		struct detour_refresh r = {0};
		detour_err err =
		        detour_refresh_find_meta(in, strlen(c->html), scratch, sizeof(scratch), &r);
		bool ok = err == c->err;
		if (ok && !err)
			ok = r.delay == c->delay && (c->url == NULL) == (r.url.p == NULL) &&
			     (!c->url ||
			      (r.url.len == strlen(c->url) && !memcmp(r.url.p, c->url, r.url.len)));
		if (!ok) {
			fprintf(stderr, "case %zu: err %d delay %u url '%.*s'\n", i, err, r.delay,
			        (int)r.url.len, r.url.p ? r.url.p : "");
			fail();
		}
		guard_free(&g);
	}
	/* A content value longer than scratch is skipped. */
	char scratch[4];
	struct detour_refresh r;
	const char *h = "<meta http-equiv=refresh content='0;url=/long'>";
	assert_int_equal(detour_refresh_find_meta(h, strlen(h), scratch, sizeof(scratch), &r),
	                 DETOUR_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse),
	        cmocka_unit_test(test_meta),
	};
	return cmocka_run_group_tests_name("refresh", tests, NULL, NULL);
}
