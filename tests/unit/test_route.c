/* Unit tests for src/server/route.h: the maintenance -> API rules -> file
 * rules cascade, driven with hand-made snapshots (no sockets, no threads). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
static struct maint_ctl *maint_on(struct publish *pub, const char *target, const char *allow_path,
                                  const char *allow_ip, const char *retry_after)
{
	struct maint_ctl *mc = maint_new(pub);
	struct maint_params p;
	char err[512];

	assert_non_null(mc);
	memset(&p, 0, sizeof(p));
	snprintf(p.target, sizeof(p.target), "%s", target);
	p.status = 307;
	snprintf(p.allow_path, sizeof(p.allow_path), "%s", allow_path ? allow_path : "");
	if (allow_ip) {
		assert_int_equal(detour_conf_cidr_parse(allow_ip, strlen(allow_ip), &p.allow_ip[0]),
		                 DETOUR_OK);
		p.nallow_ip = 1;
	}
	snprintf(p.retry_after, sizeof(p.retry_after), "%s", retry_after ? retry_after : "");
	if (maint_api_set(mc, true, &p, 0, "test", err, sizeof(err)))
		fail_msg("maint_api_set: %s", err);
	assert_non_null(atomic_load(&pub->maint));
	return mc;
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
                        struct detour_match *m, const char **extra, size_t *extra_len)
{
	struct detour_match_req q = {
	        .host = "example.com",
	        .host_len = 11,
	        .path = path,
	        .path_len = strlen(path),
	        .peer = peer,
	};
	return route_match(v, &q, m, extra, extra_len);
}

static void test_nothing(void **state)
{
	struct view v = {0};
	struct detour_match m;
	const char *extra = NULL;
	size_t el = 0;
	struct served *empty_api = served_new(NULL, ORIGIN_API, 1, false);
	struct served *file = served_of("/a /b 301\n", ORIGIN_FILE);

	assert_int_equal(route(&v, "/a", NULL, &m, &extra, &el), ROUTE_NONE);
	/* An API table without rules and a file table that does not match. */
	v.api = empty_api;
	v.file = file;
	assert_int_equal(route(&v, "/zzz", NULL, &m, &extra, &el), ROUTE_NONE);
	assert_null(route_served(&v, ROUTE_NONE));
	assert_null(extra);
	served_free(empty_api);
	served_free(file);
}

static void test_api_before_file(void **state)
{
	struct served *file = served_of("/a /from-file 301\n/only-file /f 302\n", ORIGIN_FILE);
	struct served *api = served_of("/a /from-api 302\n", ORIGIN_API);
	struct view v = {.file = file, .api = api};
	struct detour_match m;
	const char *extra = NULL;
	size_t el = 0;

	assert_int_equal(route(&v, "/a", NULL, &m, &extra, &el), ROUTE_API);
	assert_string_equal(m.rule->target, "/from-api");
	assert_ptr_equal(route_served(&v, ROUTE_API), api);
	assert_int_equal(route(&v, "/only-file", NULL, &m, &extra, &el), ROUTE_FILE);
	assert_int_equal(m.rule->status, 302);
	assert_ptr_equal(route_served(&v, ROUTE_FILE), file);
	assert_null(extra); /* only maintenance adds headers */
	served_free(file);
	served_free(api);
}

static void test_maintenance_first(void **state)
{
	struct publish pub = {0};
	struct served *file = served_of("/a /from-file 301\n", ORIGIN_FILE);
	struct served *api = served_of("/a /from-api 302\n", ORIGIN_API);
	struct detour_match m;
	const char *extra = NULL;
	size_t el = 0;
	struct peer p;

	assert_int_equal(publish_init(&pub, 0), 0);
	struct maint_ctl *mc = maint_on(&pub, "https://status.example.com/", "/health\n/api/*\n",
	                                "10.0.0.0/8", "120");
	struct view v = {.file = file, .api = api, .maint = atomic_load(&pub.maint)};

	/* Everything goes to maintenance, no-store, with its Retry-After. */
	assert_int_equal(route(&v, "/a", peer4(&p, "192.0.2.1"), &m, &extra, &el), ROUTE_MAINT);
	assert_string_equal(m.rule->target, "https://status.example.com/");
	assert_int_equal(m.rule->status, 307);
	assert_int_equal(m.rule->cache, DETOUR_CACHE_NO_STORE);
	assert_non_null(extra);
	assert_int_equal(el, strlen("Retry-After: 120\r\n"));
	assert_memory_equal(extra, "Retry-After: 120\r\n", el);
	assert_null(route_served(&v, ROUTE_MAINT));
	/* No address: never allowed by address. */
	assert_int_equal(route(&v, "/zzz", NULL, &m, &extra, &el), ROUTE_MAINT);

	/* An allowed client keeps the normal cascade. */
	extra = NULL;
	assert_int_equal(route(&v, "/a", peer4(&p, "10.1.2.3"), &m, &extra, &el), ROUTE_API);
	assert_null(extra);
	/* So does an allowed path (exact and splat sources). */
	assert_int_equal(route(&v, "/health", peer4(&p, "192.0.2.1"), &m, &extra, &el), ROUTE_NONE);
	api = (served_free(api), NULL);
	v.api = NULL;
	assert_int_equal(route(&v, "/api/x", peer4(&p, "192.0.2.1"), &m, &extra, &el), ROUTE_NONE);
	assert_int_equal(route(&v, "/a", peer4(&p, "10.9.9.9"), &m, &extra, &el), ROUTE_FILE);
	assert_null(extra);

	maint_fini(mc);
	assert_null(atomic_load(&pub.maint));
	publish_fini(&pub);
	served_free(file);
}

static void test_maintenance_local_target(void **state)
{
	struct publish pub = {0};
	struct detour_match m;
	const char *extra = NULL;
	size_t el = 0;

	assert_int_equal(publish_init(&pub, 0), 0);
	/* A target on this server stays reachable: no redirect loop. */
	struct maint_ctl *mc = maint_on(&pub, "/maintenance.html?x=1", NULL, NULL, NULL);
	struct view v = {.maint = atomic_load(&pub.maint)};

	assert_int_equal(route(&v, "/maintenance.html", NULL, &m, &extra, &el), ROUTE_NONE);
	assert_int_equal(route(&v, "/other", NULL, &m, &extra, &el), ROUTE_MAINT);
	assert_string_equal(m.rule->target, "/maintenance.html?x=1");
	assert_int_equal(el, 0); /* no Retry-After */
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
