/* Unit tests for src/server/route.h: the maintenance -> API rules -> file
 * rules cascade, driven with hand-made snapshots (no sockets, no threads). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules_test.h"
#include "unit.h"

#include "detour/canon.h"
#include "detour/config.h"
#include "detour/rulefile.h"
#include "detour/table.h"
#include "maint.h"
#include "publish.h"
#include "route.h"

static struct served *served_of(const char *text, enum served_origin origin)
{
	struct detour_table *t = build(text);

	struct served *s = served_new(t, origin, 1, false);
	assert_non_null(s);
	return s;
}

/* Maintenance on with p, published in pub; the caller reads pub->maint. */
static struct maint_ctl *maint_on_page(struct publish *pub, const char *target, int status,
                                       const char *allow_path, const char *allow_ip,
                                       const char *retry_after, struct maint_page *pg)
{
	struct maint_ctl *mc = maint_new(pub);
	struct maint_params p;
	char err[512];

	assert_non_null(mc);
	memset(&p, 0, sizeof(p));
	snprintf(p.target, sizeof(p.target), "%s", target);
	p.status = status;
	if (pg)
		snprintf(p.page, sizeof(p.page), "/test/page.html");
	snprintf(p.allow_path, sizeof(p.allow_path), "%s", allow_path ? allow_path : "");
	if (allow_ip) {
		assert_int_equal(detour_conf_cidr_parse(allow_ip, strlen(allow_ip), &p.allow_ip[0]),
		                 DETOUR_OK);
		p.nallow_ip = 1;
	}
	snprintf(p.retry_after, sizeof(p.retry_after), "%s", retry_after ? retry_after : "");
	if (maint_api_set(mc, true, &p, pg, 0, "test", err, sizeof(err)))
		fail_msg("maint_api_set: %s", err);
	assert_non_null(atomic_load(&pub->maint));
	return mc;
}

static struct maint_ctl *maint_on(struct publish *pub, const char *target, const char *allow_path,
                                  const char *allow_ip, const char *retry_after)
{
	return maint_on_page(pub, target, 307, allow_path, allow_ip, retry_after, NULL);
}

struct peer {
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} u;
};

static const struct sockaddr *peer4(struct peer *p, const char *addr)
{
	memset(p, 0, sizeof(*p));
	p->u.in.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, addr, &p->u.in.sin_addr), 1);
	return &p->u.sa;
}

static enum route route(const struct view *v, const char *path, const struct sockaddr *peer,
                        struct detour_match *m, const struct detour_page **page)
{
	struct detour_match_req q = {
	        .host = "example.com",
	        .host_len = 11,
	        .path = path,
	        .path_len = strlen(path),
	        .peer = peer,
	};
	return route_match(v, &q, m, page);
}

static void test_nothing(void **state)
{
	struct view v = {0};
	struct detour_match m;
	const struct detour_page *page = NULL;
	struct served *empty_api = served_new(NULL, ORIGIN_API, 1, false);
	struct served *file = served_of("/a /b 301\n", ORIGIN_FILE);

	assert_int_equal(route(&v, "/a", NULL, &m, &page), ROUTE_NONE);
	/* An API table without rules and a file table that does not match. */
	v.api = empty_api;
	v.file = file;
	assert_int_equal(route(&v, "/zzz", NULL, &m, &page), ROUTE_NONE);
	assert_null(route_served(&v, ROUTE_NONE));
	assert_null(page);
	served_free(empty_api);
	served_free(file);
}

static void test_api_before_file(void **state)
{
	struct served *file = served_of("/a /from-file 301\n/only-file /f 302\n", ORIGIN_FILE);
	struct served *api = served_of("/a /from-api 302\n", ORIGIN_API);
	struct view v = {.file = file, .api = api};
	struct detour_match m;
	const struct detour_page *page = NULL;

	assert_int_equal(route(&v, "/a", NULL, &m, &page), ROUTE_API);
	assert_string_equal(m.target, "/from-api");
	assert_ptr_equal(route_served(&v, ROUTE_API), api);
	assert_int_equal(route(&v, "/only-file", NULL, &m, &page), ROUTE_FILE);
	assert_int_equal(m.rule->status, 302);
	assert_ptr_equal(route_served(&v, ROUTE_FILE), file);
	assert_null(page); /* only maintenance has a page */
	served_free(file);
	served_free(api);
}

static void test_maintenance_first(void **state)
{
	struct publish pub = {0};
	struct served *file = served_of("/a /from-file 301\n", ORIGIN_FILE);
	struct served *api = served_of("/a /from-api 302\n", ORIGIN_API);
	struct detour_match m;
	const struct detour_page *page = NULL;
	struct peer p;

	assert_int_equal(publish_init(&pub, 0), 0);
	struct maint_ctl *mc = maint_on(&pub, "https://status.example.com/", "/health\n/api/*\n",
	                                "10.0.0.0/8", "120");
	struct view v = {.file = file, .api = api, .maint = atomic_load(&pub.maint)};

	/* Everything goes to maintenance, no-store; a redirect has no page and
	 * so no Retry-After (RFC 9110 §10.2.3). */
	assert_int_equal(route(&v, "/a", peer4(&p, "192.0.2.1"), &m, &page), ROUTE_MAINT);
	assert_string_equal(m.target, "https://status.example.com/");
	assert_int_equal(m.rule->status, 307);
	assert_int_equal(m.cache, DETOUR_CACHE_NO_STORE);
	assert_null(page);
	assert_null(route_served(&v, ROUTE_MAINT));
	/* No address: never allowed by address. */
	assert_int_equal(route(&v, "/zzz", NULL, &m, &page), ROUTE_MAINT);

	/* An allowed client keeps the normal cascade. */
	assert_int_equal(route(&v, "/a", peer4(&p, "10.1.2.3"), &m, &page), ROUTE_API);
	assert_null(page);
	/* So does an allowed path (exact and splat sources). */
	assert_int_equal(route(&v, "/health", peer4(&p, "192.0.2.1"), &m, &page), ROUTE_NONE);
	api = (served_free(api), NULL);
	v.api = NULL;
	assert_int_equal(route(&v, "/api/x", peer4(&p, "192.0.2.1"), &m, &page), ROUTE_NONE);
	assert_int_equal(route(&v, "/a", peer4(&p, "10.9.9.9"), &m, &page), ROUTE_FILE);
	assert_null(page);

	maint_fini(mc);
	assert_null(atomic_load(&pub.maint));
	publish_fini(&pub);
	served_free(file);
}

static void test_maintenance_local_target(void **state)
{
	struct publish pub = {0};
	struct detour_match m;
	const struct detour_page *page = NULL;

	assert_int_equal(publish_init(&pub, 0), 0);
	/* A target on this server stays reachable: no redirect loop. */
	struct maint_ctl *mc = maint_on(&pub, "/maintenance.html?x=1", NULL, NULL, NULL);
	struct view v = {.maint = atomic_load(&pub.maint)};

	assert_int_equal(route(&v, "/maintenance.html", NULL, &m, &page), ROUTE_NONE);
	assert_int_equal(route(&v, "/other", NULL, &m, &page), ROUTE_MAINT);
	assert_string_equal(m.target, "/maintenance.html?x=1");
	assert_null(page); /* a redirect: no page, no Retry-After */
	maint_fini(mc);
	publish_fini(&pub);
}

static void test_maintenance_503(void **state)
{
	struct publish pub = {0};
	struct served *file = served_of("/a /from-file 301\n", ORIGIN_FILE);
	struct detour_match m;
	const struct detour_page *page = NULL;
	struct peer p;

	assert_int_equal(publish_init(&pub, 0), 0);
	struct maint_ctl *mc =
	        maint_on_page(&pub, "-", 503, "/health\n", "10.0.0.0/8", "120", NULL);
	struct view v = {.file = file, .maint = atomic_load(&pub.maint)};

	/* Everything gets the page (the built-in one), 503 with Retry-After. */
	assert_int_equal(route(&v, "/a", peer4(&p, "192.0.2.1"), &m, &page), ROUTE_MAINT);
	assert_ptr_equal(page, &v.maint->page);
	assert_int_equal(page->status, 503);
	assert_non_null(strstr(page->buf, "\r\nRetry-After: 120\r\n"));
	/* Allowed clients and paths keep their rules. */
	page = NULL;
	assert_int_equal(route(&v, "/a", peer4(&p, "10.0.0.1"), &m, &page), ROUTE_FILE);
	assert_int_equal(route(&v, "/health", peer4(&p, "192.0.2.1"), &m, &page), ROUTE_NONE);
	assert_null(page);
	maint_fini(mc);
	publish_fini(&pub);
	served_free(file);
}

static void test_maintenance_page_at_target(void **state)
{
	struct publish pub = {0};
	struct detour_match m;
	const struct detour_page *page = NULL;
	struct maint_page *pg;
	char err[256], path[] = "/tmp/detour-route-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "<p>down</p>", 11), 11);
	close(fd);
	assert_int_equal(maint_page_read(path, &pg, err, sizeof(err)), 0);
	unlink(path);
	assert_int_equal(publish_init(&pub, 0), 0);
	/* The redirect's target is the page detour serves, not its 404. */
	struct maint_ctl *mc = maint_on_page(&pub, "/maintenance.html", 302, NULL, NULL, "60", pg);
	struct view v = {.maint = atomic_load(&pub.maint)};

	assert_int_equal(route(&v, "/maintenance.html", NULL, &m, &page), ROUTE_MAINT);
	assert_non_null(page);
	assert_int_equal(page->status, 503);
	assert_int_equal(page->body_len, 11);
	page = NULL;
	assert_int_equal(route(&v, "/other", NULL, &m, &page), ROUTE_MAINT);
	assert_null(page);
	assert_int_equal(m.rule->status, 302);
	assert_string_equal(m.target, "/maintenance.html");
	maint_fini(mc);
	publish_fini(&pub);
}

/* ---- route_canon: canonical URLs in one hop, HSTS ---------------------- */

static struct detour_canon *canon_of(const char *conf)
{
	static struct detour_config c;
	struct detour_diag d = {0};
	struct detour_canon *k = NULL;

	detour_config_defaults(&c);
	if (detour_config_parse(&c, "t.conf", conf, strlen(conf), &d) != DETOUR_OK)
		fail_msg("config: %s", d.msg);
	assert_int_equal(detour_canon_new(&c, &k), DETOUR_OK);
	assert_non_null(k);
	return k;
}

/* What route_canon answers to "https?://host/path?query": the route, the
 * status and Location (loc, "" for none) and the extra header lines. */
struct answer {
	enum route r;
	int status;
	char loc[512];
	char extra[512];
};

static struct answer hop(const struct view *v, bool https, const char *host, const char *target)
{
	static struct route_hop h;
	static char pb[256];
	struct answer a = {0};
	const char *qm = strchr(target, '?');
	size_t pl = qm ? (size_t)(qm - target) : strlen(target);
	struct detour_match m;
	const char *extra = NULL;
	const struct detour_page *page = NULL;
	size_t el = 0;

	memcpy(pb, target, pl);
	struct detour_match_req q = {
	        .host = host,
	        .host_len = host ? strlen(host) : 0,
	        .https = https,
	        .path = pb,
	        .path_len = pl,
	        .query = qm ? qm + 1 : NULL,
	        .query_len = qm ? strlen(qm + 1) : 0,
	};
	/* as publish_enter() loads them from the settings */
	struct view vv = *v;
	vv.canon_plain = detour_canon_may_change(v->canon, false);
	vv.canon_https = detour_canon_may_change(v->canon, true);
	a.r = route_canon(&vv, &q, sizeof(pb), &m, &h, &page, &extra, &el);
	if (a.r != ROUTE_NONE) {
		a.status = m.rule->status;
		ssize_t n = detour_respond_location(&m, &q, a.loc, sizeof(a.loc) - 1);
		assert_true(n >= 0);
		a.loc[n] = '\0';
	}
	assert_true(el < sizeof(a.extra));
	if (el)
		memcpy(a.extra, extra, el);
	return a;
}

#define HSTS_1Y "Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n"

static void test_canon_one_hop(void **state)
{
	/* The example: scheme, host and the rule in one 308. */
	struct served *file = served_of("//old-brand.com/shop https://new-brand.com/store 308\n"
	                                "//old-brand.com/about /about-us 301\n"
	                                "/drop /kept?x=1 302 query=drop\n"
	                                "http://old-brand.com/plain /plain-ok 302\n"
	                                "//old-brand.com/p/:n /q/:n 307\n",
	                                ORIGIN_FILE);
	struct view v = {.file = file,
	                 .canon = canon_of("https-redirect 308\n"
	                                   "canonical-host www.old-brand.com old-brand.com\n"
	                                   "hsts max-age=1y include-subdomains\n"
	                                   "trailing-slash remove\n")};
	struct answer a;

	a = hop(&v, false, "www.old-brand.com", "/shop?id=7");
	assert_int_equal(a.r, ROUTE_FILE);
	assert_int_equal(a.status, 308);
	assert_string_equal(a.loc, "https://new-brand.com/store?id=7");
	assert_string_equal(a.extra, ""); /* no HSTS over plain HTTP */
	/* a path target is rebased on the canonical origin; the rule's status */
	a = hop(&v, false, "WWW.old-brand.com:80", "/about/");
	assert_int_equal(a.r, ROUTE_FILE);
	assert_int_equal(a.status, 301);
	assert_string_equal(a.loc, "https://old-brand.com/about-us");
	/* placeholders still filled, the rule's query option obeyed */
	a = hop(&v, false, "old-brand.com", "/p/7/");
	assert_string_equal(a.loc, "https://old-brand.com/q/7");
	assert_int_equal(a.status, 307);
	a = hop(&v, false, "x.test", "/drop?a=b");
	assert_string_equal(a.loc, "https://x.test/kept?x=1");
	/* no rule: the canonical URL, the https-redirect status, query kept */
	a = hop(&v, false, "www.old-brand.com", "/x/?a=b");
	assert_int_equal(a.r, ROUTE_CANON);
	assert_int_equal(a.status, 308);
	assert_string_equal(a.loc, "https://old-brand.com/x?a=b");
	assert_null(route_served(&v, ROUTE_CANON));
	/* an http:// rule answers plain requests itself */
	a = hop(&v, false, "old-brand.com", "/plain");
	assert_int_equal(a.r, ROUTE_FILE);
	assert_string_equal(a.loc, "/plain-ok");
	assert_int_equal(a.status, 302);
	/* ACME tokens are never redirected: the cascade as usual */
	a = hop(&v, false, "www.old-brand.com", "/.well-known/acme-challenge/tok");
	assert_int_equal(a.r, ROUTE_NONE);
	/* an https request on the canonical name: the rule as written, HSTS */
	a = hop(&v, true, "old-brand.com", "/about");
	assert_int_equal(a.r, ROUTE_FILE);
	assert_string_equal(a.loc, "/about-us");
	assert_string_equal(a.extra, HSTS_1Y);
	a = hop(&v, true, "old-brand.com", "/nothing");
	assert_int_equal(a.r, ROUTE_NONE);
	assert_string_equal(a.extra, HSTS_1Y); /* on the 404 too */
	/* an https request on an alias: the host hop, with HSTS */
	a = hop(&v, true, "www.old-brand.com:8443", "/nothing");
	assert_int_equal(a.r, ROUTE_CANON);
	assert_string_equal(a.loc, "https://old-brand.com:8443/nothing");
	assert_string_equal(a.extra, HSTS_1Y);
	detour_canon_free((struct detour_canon *)v.canon);
	served_free(file);
}

static void test_canon_schemes(void **state)
{
	/* https:// sources match https requests only, http:// plain ones,
	 * //host both */
	struct served *file = served_of("https://a.test/s /secure 301\n"
	                                "http://a.test/s /plain 301\n"
	                                "//a.test/both /b 301\n",
	                                ORIGIN_FILE);
	struct view v = {.file = file, .canon = canon_of("hsts max-age=1d\n")};
	struct answer a;

	a = hop(&v, true, "a.test", "/s");
	assert_string_equal(a.loc, "/secure");
	assert_string_equal(a.extra, "Strict-Transport-Security: max-age=86400\r\n");
	a = hop(&v, false, "a.test", "/s");
	assert_string_equal(a.loc, "/plain");
	assert_string_equal(a.extra, "");
	assert_string_equal(hop(&v, true, "a.test", "/both").loc, "/b");
	assert_string_equal(hop(&v, false, "a.test", "/both").loc, "/b");
	detour_canon_free((struct detour_canon *)v.canon);

	/* with https-redirect, the http:// rule keeps plain requests; the
	 * https:// one answers the rest after the upgrade, in one hop */
	v.canon = canon_of("https-redirect 301\n");
	a = hop(&v, false, "a.test", "/s");
	assert_string_equal(a.loc, "/plain");
	a = hop(&v, false, "a.test", "/both");
	assert_string_equal(a.loc, "https://a.test/b");
	assert_int_equal(a.status, 301);
	a = hop(&v, false, "a.test", "/none");
	assert_int_equal(a.r, ROUTE_CANON);
	assert_int_equal(a.status, 301);
	assert_string_equal(a.loc, "https://a.test/none");
	detour_canon_free((struct detour_canon *)v.canon);
	served_free(file);

	file = served_of("https://a.test/s /secure 302\n", ORIGIN_FILE);
	v.file = file;
	v.canon = canon_of("https-redirect\n");
	a = hop(&v, false, "a.test", "/s?k=v");
	assert_int_equal(a.r, ROUTE_FILE);
	assert_int_equal(a.status, 302);
	assert_string_equal(a.loc, "https://a.test/secure?k=v");
	detour_canon_free((struct detour_canon *)v.canon);
	served_free(file);
}

static void test_canon_host_and_slash(void **state)
{
	struct served *file = served_of("/docs/ /manual 301\n", ORIGIN_FILE);
	struct view v = {.file = file, .canon = canon_of("canonical-host b.test a.test\n")};
	struct answer a;

	/* canonical-host alone: 308, the scheme and port kept */
	a = hop(&v, false, "b.test:8080", "/x?y");
	assert_int_equal(a.r, ROUTE_CANON);
	assert_int_equal(a.status, DETOUR_CANON_DEFAULT_STATUS);
	assert_string_equal(a.loc, "http://a.test:8080/x?y");
	a = hop(&v, false, "b.test", "/docs/");
	assert_int_equal(a.status, 301);
	assert_string_equal(a.loc, "http://a.test/manual");
	assert_int_equal(hop(&v, false, "a.test", "/x").r, ROUTE_NONE);
	detour_canon_free((struct detour_canon *)v.canon);

	/* trailing-slash add alone: a path-absolute Location */
	v.canon = canon_of("trailing-slash add\n");
	a = hop(&v, false, "a.test", "/guide");
	assert_int_equal(a.r, ROUTE_CANON);
	assert_int_equal(a.status, 308);
	assert_string_equal(a.loc, "/guide/");
	a = hop(&v, false, "a.test", "/docs");
	assert_int_equal(a.r, ROUTE_FILE);
	assert_string_equal(a.loc, "/manual");
	assert_int_equal(hop(&v, false, "a.test", "/style.css").r, ROUTE_NONE);
	detour_canon_free((struct detour_canon *)v.canon);
	served_free(file);
}

static void test_canon_maintenance(void **state)
{
	struct publish pub = {0};
	struct answer a;

	assert_int_equal(publish_init(&pub, 0), 0);
	struct maint_ctl *mc = maint_on(&pub, "/down.html", NULL, NULL, "60");
	struct view v = {.maint = atomic_load(&pub.maint),
	                 .canon = canon_of("https-redirect\nhsts max-age=1y "
	                                   "include-subdomains\n")};

	/* maintenance answers the canonical URL: its target rebased, one hop */
	a = hop(&v, false, "a.test", "/x");
	assert_int_equal(a.r, ROUTE_MAINT);
	assert_int_equal(a.status, 307);
	assert_string_equal(a.loc, "https://a.test/down.html");
	/* no Retry-After on a 3xx (RFC 9110 §10.2.3), no HSTS over plain HTTP */
	assert_string_equal(a.extra, "");
	/* over https: HSTS */
	a = hop(&v, true, "a.test", "/x");
	assert_string_equal(a.loc, "/down.html");
	assert_string_equal(a.extra, HSTS_1Y);
	detour_canon_free((struct detour_canon *)v.canon);
	maint_fini(mc);
	publish_fini(&pub);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_nothing),
	        cmocka_unit_test(test_api_before_file),
	        cmocka_unit_test(test_maintenance_first),
	        cmocka_unit_test(test_maintenance_local_target),
	        cmocka_unit_test(test_canon_one_hop),
	        cmocka_unit_test(test_canon_schemes),
	        cmocka_unit_test(test_canon_host_and_slash),
	        cmocka_unit_test(test_canon_maintenance),
	        cmocka_unit_test(test_maintenance_503),
	        cmocka_unit_test(test_maintenance_page_at_target),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
