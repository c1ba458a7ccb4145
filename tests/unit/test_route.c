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
	assert_string_equal(m.rule->target, "/from-api");
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
	assert_string_equal(m.rule->target, "https://status.example.com/");
	assert_int_equal(m.rule->status, 307);
	assert_int_equal(m.rule->cache, DETOUR_CACHE_NO_STORE);
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
	assert_string_equal(m.rule->target, "/maintenance.html?x=1");
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
	assert_string_equal(m.rule->target, "/maintenance.html");
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
	        cmocka_unit_test(test_maintenance_503),
	        cmocka_unit_test(test_maintenance_page_at_target),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
