/* Unit tests for src/server/maint.c: what maintenance decides (on/off by
 * the config, the file, SIGUSR2 and the API; the latest change wins;
 * allow-ip, allow-path, until, Retry-After), driven without sockets: the
 * published state is read from a struct publish without readers. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

#include "detour/config.h"
#include "maint.h"
#include "publish.h"

struct rec {
	unsigned n;
	struct maint_status last;
};

static void record(void *arg, const struct maint_status *st)
{
	struct rec *r = arg;

	r->n++;
	r->last = *st;
}

struct fixture {
	struct publish pub;
	struct maint_ctl *mc;
	struct rec rec;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(publish_init(&f->pub, 0), 0);
	f->mc = maint_new(&f->pub);
	assert_non_null(f->mc);
	maint_set_recorder(f->mc, record, &f->rec);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	maint_fini(f->mc);
	assert_null(atomic_load(&f->pub.maint));
	publish_fini(&f->pub);
	free(f);
	return 0;
}

static void directive(struct detour_conf_maint *cm, bool on, const char *target)
{
	memset(cm, 0, sizeof(*cm));
	cm->line = 3;
	cm->on = on;
	cm->status = 307;
	snprintf(cm->target, sizeof(cm->target), "%s", target);
}

static bool published(struct fixture *f)
{
	return atomic_load(&f->pub.maint) != NULL;
}

static struct maint_status status(struct fixture *f)
{
	struct maint_status st;

	maint_get(f->mc, &st);
	return st;
}

static void init(struct fixture *f, const struct detour_conf_maint *cm)
{
	char err[512];

	if (maint_init(f->mc, cm, false, false, NULL, 0, 0, "", err, sizeof(err)))
		fail_msg("maint_init: %s", err);
}

static void test_config_on_off(void **state)
{
	struct fixture *f = *state;
	struct detour_conf_maint cm;

	directive(&cm, true, "https://status.example.com/");
	init(f, &cm);
	assert_true(published(f));
	assert_true(status(f).on);
	assert_int_equal(status(f).source, MAINT_CONFIG);
	assert_string_equal(status(f).p.target, "https://status.example.com/");
	assert_int_equal(f->rec.n, 0); /* start-up is not a change to record */

	/* A reload with the directive turned off is a change. */
	directive(&cm, false, "https://status.example.com/");
	cm.line = 7;
	maint_reload(f->mc, &cm, NULL);
	assert_false(published(f));
	assert_false(status(f).on);
	assert_int_equal(f->rec.n, 1);
	assert_false(f->rec.last.on);
	assert_int_equal(f->rec.last.source, MAINT_CONFIG);
}

static void test_no_directive(void **state)
{
	struct fixture *f = *state;
	struct detour_conf_maint cm;
	struct maint_params p;

	memset(&cm, 0, sizeof(cm));
	init(f, &cm);
	assert_false(published(f));
	/* SIGUSR2 with nothing to turn on: nothing happens. */
	maint_toggle(f->mc);
	assert_false(published(f));
	assert_int_equal(f->rec.n, 0);
	assert_false(maint_defaults(f->mc, &p));
}

static void test_signal_toggles(void **state)
{
	struct fixture *f = *state;
	struct detour_conf_maint cm;

	directive(&cm, false, "/down.html");
	init(f, &cm);
	assert_false(published(f));
	maint_toggle(f->mc);
	assert_true(published(f));
	assert_int_equal(status(f).source, MAINT_SIGNAL);
	assert_string_equal(status(f).who, "signal");
	assert_int_equal(f->rec.n, 1);
	assert_true(f->rec.last.on);
	maint_toggle(f->mc);
	assert_false(published(f));
	assert_int_equal(f->rec.n, 2);
	assert_false(f->rec.last.on);
	/* An unchanged directive at a reload keeps the signal's state. */
	maint_toggle(f->mc);
	cm.line = 9; /* the line number alone is no change */
	maint_reload(f->mc, &cm, NULL);
	assert_true(published(f));
	assert_int_equal(f->rec.n, 3);
}

static void test_api_until_and_defaults(void **state)
{
	struct fixture *f = *state;
	struct detour_conf_maint cm;
	struct maint_params p, d;
	char err[512];

	memset(&cm, 0, sizeof(cm));
	init(f, &cm);
	memset(&p, 0, sizeof(p));
	snprintf(p.target, sizeof(p.target), "https://elsewhere.example/");
	p.status = 302;
	snprintf(p.retry_after, sizeof(p.retry_after), "3600");
	assert_int_equal(
	        maint_api_set(f->mc, true, &p, NULL, 4102444800, "alice", err, sizeof(err)), 0);
	assert_true(published(f));
	struct maint_status st = status(f);
	assert_int_equal(st.source, MAINT_API);
	assert_string_equal(st.who, "alice");
	assert_int_equal(st.until, 4102444800);
	assert_int_equal(f->rec.n, 0); /* the API stores its own changes */
	/* A redirect has no page, so no Retry-After (RFC 9110 §10.2.3: on a
	 * 3xx it would mean "wait before following"). */
	const struct maint *m = atomic_load(&f->pub.maint);
	assert_null(m->page.buf);
	assert_null(m->at);
	assert_false(m->all_page);

	/* Without a directive, "on" without parameters reuses the API's. */
	assert_true(maint_defaults(f->mc, &d));
	assert_string_equal(d.target, "https://elsewhere.example/");
	assert_int_equal(d.status, 302);

	/* until reached: back to what the config says (off). */
	maint_api_expired(f->mc);
	assert_false(published(f));
	assert_int_equal(status(f).source, MAINT_CONFIG);
	/* Expiry when the API is not the latest source changes nothing. */
	maint_toggle(f->mc);
	assert_true(published(f));
	maint_api_expired(f->mc);
	assert_true(published(f));

	/* A bad source is refused and changes nothing. */
	snprintf(p.allow_path, sizeof(p.allow_path), "no-slash\n");
	assert_int_equal(maint_check(&p, NULL, err, sizeof(err)), -1);
	assert_int_equal(maint_api_set(f->mc, true, &p, NULL, 0, "bob", err, sizeof(err)), -1);
	assert_int_equal(status(f).source, MAINT_SIGNAL);
}

static void test_stored_api_state_at_start(void **state)
{
	struct fixture *f = *state;
	struct detour_conf_maint cm;
	struct maint_params p;
	char err[512];

	directive(&cm, false, "/down.html");
	memset(&p, 0, sizeof(p));
	snprintf(p.target, sizeof(p.target), "/api-down.html");
	p.status = 303;
	/* What the API stored is the latest change: it wins over the config. */
	assert_int_equal(maint_init(f->mc, &cm, true, true, &p, 1000, 0, "carol", err, sizeof(err)),
	                 0);
	assert_true(published(f));
	assert_int_equal(status(f).source, MAINT_API);
	assert_string_equal(status(f).p.target, "/api-down.html");
	/* The config's directive gives the defaults when there is one. */
	struct maint_params d;
	assert_true(maint_defaults(f->mc, &d));
	assert_string_equal(d.target, "/down.html");
}

static void test_stored_until_passed(void **state)
{
	struct fixture *f = *state;
	struct detour_conf_maint cm;
	struct maint_params p;
	char err[512];

	directive(&cm, false, "/down.html");
	memset(&p, 0, sizeof(p));
	snprintf(p.target, sizeof(p.target), "/api-down.html");
	p.status = 307;
	/* An API state whose until passed while we were down does not apply. */
	assert_int_equal(
	        maint_init(f->mc, &cm, true, true, &p, 1000, 2000, "carol", err, sizeof(err)), 0);
	assert_false(published(f));
	assert_int_equal(status(f).source, MAINT_CONFIG);
}

static void test_file(void **state)
{
	struct fixture *f = *state;
	struct detour_conf_maint cm;
	char path[] = "/tmp/detour-maint-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	directive(&cm, false, "/down.html");
	snprintf(cm.file, sizeof(cm.file), "%s", path);
	init(f, &cm);
	assert_false(published(f));
	maint_poll_file(f->mc); /* nothing changed */
	assert_int_equal(f->rec.n, 0);

	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	maint_poll_file(f->mc);
	assert_true(published(f));
	assert_int_equal(status(f).source, MAINT_FILE);
	assert_int_equal(f->rec.n, 1);
	assert_int_equal(f->rec.last.source, MAINT_FILE);

	unlink(path);
	maint_poll_file(f->mc);
	assert_false(published(f));
	assert_int_equal(f->rec.n, 2);
}

static void test_allow_ip_and_path(void **state)
{
	struct fixture *f = *state;
	struct detour_conf_maint cm;
	struct detour_match m;
	struct sockaddr_in in = {.sin_family = AF_INET};
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};

	directive(&cm, true, "https://status.example.com/");
	assert_int_equal(detour_conf_cidr_parse("192.0.2.0/24", 12, &cm.allow_ip[0]), DETOUR_OK);
	assert_int_equal(detour_conf_cidr_parse("2001:db8::/32", 13, &cm.allow_ip[1]), DETOUR_OK);
	cm.nallow_ip = 2;
	snprintf(cm.allow_path, sizeof(cm.allow_path), "/status\n/static/*\n");
	init(f, &cm);
	const struct maint *mt = atomic_load(&f->pub.maint);
	assert_non_null(mt);

	struct detour_match_req q = {.host = "example.com", .host_len = 11};
#define PATH(p) (q.path = (p), q.path_len = strlen(p))
	PATH("/index.html");
	inet_pton(AF_INET, "198.51.100.7", &in.sin_addr);
	assert_true(maint_match(mt, &q, (struct sockaddr *)&in, &m));
	assert_true(maint_match(mt, &q, NULL, &m));
	inet_pton(AF_INET, "192.0.2.200", &in.sin_addr);
	assert_false(maint_match(mt, &q, (struct sockaddr *)&in, &m));
	inet_pton(AF_INET6, "2001:db8:1::1", &in6.sin6_addr);
	assert_false(maint_match(mt, &q, (struct sockaddr *)&in6, &m));
	inet_pton(AF_INET6, "2001:db9::1", &in6.sin6_addr);
	assert_true(maint_match(mt, &q, (struct sockaddr *)&in6, &m));
	PATH("/status");
	assert_false(maint_match(mt, &q, NULL, &m));
	PATH("/static/app.css");
	assert_false(maint_match(mt, &q, NULL, &m));
	PATH("/statusx");
	assert_true(maint_match(mt, &q, NULL, &m));
	assert_int_equal(m.cache, DETOUR_CACHE_NO_STORE);
#undef PATH
}

/* ---- pages ------------------------------------------------------------- */

#define DATE "Sun, 06 Nov 1994 08:49:37 GMT"

/* Writes text to a new temporary file; its name goes into path. */
static void temp_page(char *path, const char *text)
{
	strcpy(path, "/tmp/detour-page-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* The published page's answer to a GET, Date fixed. */
static const char *page_answer(const struct maint *mt, char *out, size_t cap)
{
	struct detour_respond_ctx ctx = {.date = DATE};
	ssize_t n = detour_respond_page(&mt->page, &ctx, out, cap - 1);
	assert_true(n > 0);
	out[n] = '\0';
	return out;
}

static void test_503_page(void **state)
{
	struct fixture *f = *state;
	struct detour_conf_maint cm;
	struct maint_params p;
	struct maint_page *pg;
	struct detour_match m;
	char path[64], err[512], out[2048], want[1024];
	static const char body[] = "<!DOCTYPE html>\n<title>Back soon</title>\n";

	memset(&cm, 0, sizeof(cm));
	init(f, &cm);
	temp_page(path, body);
	memset(&p, 0, sizeof(p));
	snprintf(p.target, sizeof(p.target), "-");
	p.status = 503;
	snprintf(p.retry_after, sizeof(p.retry_after), "600");
	snprintf(p.page, sizeof(p.page), "%s", path);
	snprintf(p.allow_path, sizeof(p.allow_path), "/health\n");
	assert_int_equal(maint_page_read(path, &pg, err, sizeof(err)), 0);
	assert_int_equal(maint_check(&p, pg, err, sizeof(err)), 0);
	assert_int_equal(maint_api_set(f->mc, true, &p, pg, 0, "alice", err, sizeof(err)), 0);
	const struct maint *mt = atomic_load(&f->pub.maint);
	assert_non_null(mt);
	assert_true(mt->all_page);
	/* Exact bytes: 503, no-store, Retry-After, the file's bytes. */
	snprintf(want, sizeof(want),
	         "HTTP/1.1 503 Service Unavailable\r\nDate: " DATE "\r\n"
	         "Cache-Control: no-store\r\nRetry-After: 600\r\n"
	         "Content-Type: text/html; charset=utf-8\r\nContent-Length: %zu\r\n\r\n%s",
	         sizeof(body) - 1, body);
	assert_string_equal(page_answer(mt, out, sizeof(out)), want);
	/* Every path gets the page but the allowed ones. */
	struct detour_match_req q = {.path = "/any/where", .path_len = 10};
	assert_int_equal(maint_match(mt, &q, NULL, &m), MAINT_PAGE);
	q.path = "/health", q.path_len = 7;
	assert_int_equal(maint_match(mt, &q, NULL, &m), MAINT_PASS);
	/* The file changing does not change what is served: read once. */
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("changed", fp);
	fclose(fp);
	assert_string_equal(page_answer(atomic_load(&f->pub.maint), out, sizeof(out)), want);
	/* SIGUSR2 off and on again (no directive: the API's last parameters)
	 * serves the bytes read at the API change. */
	maint_toggle(f->mc);
	assert_false(published(f));
	maint_toggle(f->mc);
	assert_string_equal(page_answer(atomic_load(&f->pub.maint), out, sizeof(out)), want);
	unlink(path);
}

static void test_builtin_page(void **state)
{
	struct fixture *f = *state;
	struct detour_conf_maint cm;
	char out[2048], want[2048];

	/* maintenance - (no page=, no retry-after=): the built-in page. */
	directive(&cm, true, "-");
	cm.status = 503;
	init(f, &cm);
	snprintf(want, sizeof(want),
	         "HTTP/1.1 503 Service Unavailable\r\nDate: " DATE "\r\n"
	         "Cache-Control: no-store\r\n"
	         "Content-Type: text/html; charset=utf-8\r\nContent-Length: %zu\r\n\r\n%s",
	         strlen(maint_default_page), maint_default_page);
	assert_string_equal(page_answer(atomic_load(&f->pub.maint), out, sizeof(out)), want);
}

static void test_page_at_target(void **state)
{
	struct fixture *f = *state;
	struct detour_conf_maint cm;
	struct detour_match m;
	char path[64], out[2048];

	/* A redirect to /maintenance.html with page=: that path gets the page
	 * (503 + Retry-After, whoever asks), the rest the redirect. */
	temp_page(path, "<p>down</p>\n");
	directive(&cm, true, "/maintenance.html?from=x");
	snprintf(cm.page, sizeof(cm.page), "%s", path);
	snprintf(cm.retry_after, sizeof(cm.retry_after), "120");
	assert_int_equal(detour_conf_cidr_parse("192.0.2.0/24", 12, &cm.allow_ip[0]), DETOUR_OK);
	cm.nallow_ip = 1;
	init(f, &cm);
	unlink(path);
	const struct maint *mt = atomic_load(&f->pub.maint);
	assert_non_null(mt->at);
	assert_false(mt->all_page);
	struct sockaddr_in in = {.sin_family = AF_INET};
	inet_pton(AF_INET, "192.0.2.1", &in.sin_addr);
	struct detour_match_req q = {.path = "/maintenance.html", .path_len = 17};
	assert_int_equal(maint_match(mt, &q, NULL, &m), MAINT_PAGE);
	assert_int_equal(maint_match(mt, &q, (struct sockaddr *)&in, &m), MAINT_PAGE);
	q.path = "/x", q.path_len = 2;
	assert_int_equal(maint_match(mt, &q, NULL, &m), MAINT_REDIRECT);
	assert_int_equal(m.rule->status, 307);
	assert_int_equal(maint_match(mt, &q, (struct sockaddr *)&in, &m), MAINT_PASS);
	assert_non_null(
	        strstr(page_answer(mt, out, sizeof(out)), "HTTP/1.1 503 Service Unavailable\r\n"));
	assert_non_null(strstr(out, "\r\nRetry-After: 120\r\n"));
	assert_non_null(strstr(out, "\r\n\r\n<p>down</p>\n"));
}

static void test_page_read_errors(void **state)
{
	struct maint_page *pg = (struct maint_page *)1;
	char err[512], path[64];

	assert_int_equal(maint_page_read("", &pg, err, sizeof(err)), 0);
	assert_null(pg);
	assert_int_equal(maint_page_read("/nonexistent/down.html", &pg, err, sizeof(err)), -1);
	assert_string_equal(err,
	                    "maintenance page /nonexistent/down.html: No such file or directory");
	assert_int_equal(maint_page_read("/tmp", &pg, err, sizeof(err)), -1);
	assert_string_equal(err, "maintenance page /tmp: not a regular file");
	/* One byte over the limit. */
	temp_page(path, "");
	assert_int_equal(truncate(path, DETOUR_PAGE_MAX + 1), 0);
	assert_int_equal(maint_page_read(path, &pg, err, sizeof(err)), -1);
	char want[256];
	snprintf(want, sizeof(want),
	         "maintenance page %s: 131073 bytes, over the 128 KiB a page may have", path);
	assert_string_equal(err, want);
	assert_null(pg);
	/* At the limit: read. */
	assert_int_equal(truncate(path, DETOUR_PAGE_MAX), 0);
	assert_int_equal(maint_page_read(path, &pg, err, sizeof(err)), 0);
	assert_non_null(pg);
	maint_page_free(pg);
	unlink(path);
	(void)state;
}

static void test_reload_rereads_page(void **state)
{
	struct fixture *f = *state;
	struct detour_conf_maint cm;
	struct maint_page *pg;
	char path[64], err[512], out[2048];

	temp_page(path, "one\n");
	directive(&cm, true, "-");
	cm.status = 503;
	snprintf(cm.page, sizeof(cm.page), "%s", path);
	init(f, &cm);
	assert_non_null(
	        strstr(page_answer(atomic_load(&f->pub.maint), out, sizeof(out)), "\r\n\r\none\n"));
	/* A reload with the same directive and a new page: the new bytes,
	 * still the config's state, no change recorded. */
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("two\n", fp);
	fclose(fp);
	assert_int_equal(maint_page_read(path, &pg, err, sizeof(err)), 0);
	maint_reload(f->mc, &cm, pg);
	assert_non_null(
	        strstr(page_answer(atomic_load(&f->pub.maint), out, sizeof(out)), "\r\n\r\ntwo\n"));
	assert_int_equal(status(f).source, MAINT_CONFIG);
	assert_int_equal(f->rec.n, 0);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_config_on_off, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_no_directive, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_signal_toggles, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_api_until_and_defaults, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_stored_api_state_at_start, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_stored_until_passed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_allow_ip_and_path, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_503_page, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_builtin_page, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_page_at_target, setup, teardown),
	        cmocka_unit_test(test_page_read_errors),
	        cmocka_unit_test_setup_teardown(test_reload_rereads_page, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
