/* Unit tests for lib/h2resp.c (a prepared HTTP/1.1 response as HTTP/2
 * fields) and lib/http1.c detour_http1_from_h2 (an HTTP/2 request as the
 * struct detour_request the server routes). */
#include <stdlib.h>

#include "detour/h2resp.h"
#include "detour/http1.h"
#include "unit.h"

static void field_is(const struct detour_h2_field *f, const char *name, const char *value)
{
	assert_int_equal(f->name_len, strlen(name));
	assert_memory_equal(f->name, name, f->name_len);
	assert_int_equal(f->value_len, strlen(value));
	assert_memory_equal(f->value, value, f->value_len);
}

static void test_split(void **state)
{
	char buf[] = "HTTP/1.1 301 Moved Permanently\r\n"
	             "Date: Thu, 03 Dec 2026 10:00:00 GMT\r\n"
	             "Location: /v1\r\n"
	             "Cache-Control: max-age=60\r\n"
	             "Connection: close\r\n"
	             "Keep-Alive: timeout=5\r\n"
	             "Content-Type: text/html; charset=utf-8\r\n"
	             "Content-Length: 5\r\n"
	             "\r\n"
	             "hello";
	struct detour_h2_resp r;

	assert_int_equal(detour_h2_response(buf, sizeof(buf) - 1, &r), 0);
	assert_int_equal(r.status, 301);
	assert_memory_equal(r.status_digits, "301", 3);
	assert_int_equal(r.nf, 5);
	field_is(&r.f[0], "date", "Thu, 03 Dec 2026 10:00:00 GMT");
	field_is(&r.f[1], "location", "/v1");
	field_is(&r.f[2], "cache-control", "max-age=60");
	field_is(&r.f[3], "content-type", "text/html; charset=utf-8");
	field_is(&r.f[4], "content-length", "5");
	assert_int_equal(r.body_len, 5);
	assert_memory_equal(r.body, "hello", 5);
}

static void test_split_head_and_errors(void **state)
{
	char head[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\n";
	struct detour_h2_resp r;
	const char *bad[] = {
	        "",
	        "HTTP/1.1 301 Moved\r\nLocation /x\r\n\r\n",  /* no colon */
	        "HTTP/1.1 301 Moved\r\nLocation: /x\r\n",     /* no end */
	        "HTTP/1.1 3x1 Moved\r\n\r\n",                 /* status */
	        "HTTP/2 301 Moved\r\n\r\n",                   /* version */
	        "HTTP/1.1 301 Moved\r\nLocation: /x\n\r\n",   /* bare LF */
	        "HTTP/1.1 301 Moved\r\n: empty name\r\n\r\n", /* empty name */
	};

	assert_int_equal(detour_h2_response(head, sizeof(head) - 1, &r), 0);
	assert_int_equal(r.status, 404);
	assert_int_equal(r.nf, 1);
	field_is(&r.f[0], "content-length", "10");
	assert_int_equal(r.body_len, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *b = strdup(bad[i]);
		assert_int_equal(detour_h2_response(b, strlen(b), &r), -1);
		free(b);
	}
	/* Over DETOUR_H2_FIELDS_MAX fields. */
	char many[4096] = "HTTP/1.1 200 OK\r\n";
	for (int i = 0; i <= DETOUR_H2_FIELDS_MAX; i++)
		strcat(many, "X: y\r\n");
	strcat(many, "\r\n");
	assert_int_equal(detour_h2_response(many, strlen(many), &r), -1);
}

static size_t slen(const char *s)
{
	return s ? strlen(s) : 0;
}

#define PS(m, p, a) ((struct detour_h2_pseudo){m, p, a, slen(m), slen(p), slen(a)})

static struct detour_request req;

static void add_field(const char *n, const char *v)
{
	req.headers[req.num_headers++] = (struct detour_header){n, strlen(n), v, strlen(v)};
}

static void test_from_h2(void **state)
{
	struct detour_h2_pseudo p = PS("GET", "/a/b?x=1", "example.com:8443");
	int status;

	req.num_headers = 0;
	add_field("user-agent", "t");
	assert_int_equal(detour_http1_from_h2(&req, &p, NULL, &status), DETOUR_OK);
	assert_int_equal(status, 0);
	assert_int_equal(req.method_id, DETOUR_M_GET);
	assert_true(req.http2);
	assert_int_equal(req.minor_version, 1);
	assert_true(req.keep_alive);
	assert_int_equal(req.path_len, 4);
	assert_memory_equal(req.path, "/a/b", 4);
	assert_int_equal(req.query_len, 3);
	assert_memory_equal(req.query, "x=1", 3);
	assert_int_equal(req.host_len, 16);
	assert_memory_equal(req.target, "/a/b?x=1", 8);

	/* Host when there is no :authority; a body's length. */
	p = PS("POST", "/f", NULL);
	req.num_headers = 0;
	add_field("host", "h.example");
	add_field("content-length", "12");
	assert_int_equal(detour_http1_from_h2(&req, &p, NULL, &status), DETOUR_OK);
	assert_int_equal(req.method_id, DETOUR_M_POST);
	assert_int_equal(req.host_len, 9);
	assert_true(req.has_content_length);
	assert_int_equal(req.content_length, 12);
	assert_false(req.chunked);

	/* OPTIONS *, and no host at all. */
	p = PS("OPTIONS", "*", NULL);
	req.num_headers = 0;
	assert_int_equal(detour_http1_from_h2(&req, &p, NULL, &status), DETOUR_OK);
	assert_true(req.asterisk_form);
	assert_null(req.host);

	/* CONNECT: left to the caller (501). */
	p = PS("CONNECT", NULL, "h:443");
	assert_int_equal(detour_http1_from_h2(&req, &p, NULL, &status), DETOUR_OK);
	assert_int_equal(req.method_id, DETOUR_M_CONNECT);
}

static void test_from_h2_refused(void **state)
{
	struct detour_http1_limits lim;
	struct {
		struct detour_h2_pseudo p;
		const char *cl; /* a content-length field, or NULL */
		int status;
	} cases[] = {
	        {PS("GET", "x", "h"), NULL, 400},       /* not an absolute path */
	        {PS("GET", "*", "h"), NULL, 400},       /* "*" but not OPTIONS */
	        {PS("GET", "/a b", "h"), NULL, 400},    /* space */
	        {PS("GET", "/\x01", "h"), NULL, 400},   /* CTL */
	        {PS("GET", "/", "a@b"), NULL, 400},     /* userinfo */
	        {PS("GET", "/", "h:99999"), NULL, 400}, /* port */
	        {PS(NULL, "/", "h"), NULL, 400},        /* no :method */
	        {PS("GET", NULL, "h"), NULL, 400},      /* no :path */
	        {PS("POST", "/", "h"), "1x", 400},      /* content-length */
	        {PS("POST", "/", "h"), "2000", 413},    /* over max_body */
	        {PS("GET", "/0123456789", "h"), NULL, 414},
	};

	detour_http1_limits_default(&lim);
	lim.max_target = 8;
	lim.max_body = 1000;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int status = 0;
		req.num_headers = 0;
		if (cases[i].cl)
			add_field("content-length", cases[i].cl);
		assert_int_not_equal(detour_http1_from_h2(&req, &cases[i].p, &lim, &status),
		                     DETOUR_OK);
		assert_int_equal(status, cases[i].status);
	}
	/* Two content-length fields that disagree. */
	struct detour_h2_pseudo p = PS("POST", "/", "h");
	int status;
	req.num_headers = 0;
	add_field("content-length", "1");
	add_field("content-length", "2");
	assert_int_equal(detour_http1_from_h2(&req, &p, NULL, &status), DETOUR_EINVAL);
	assert_int_equal(status, 400);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_split),
	        cmocka_unit_test(test_split_head_and_errors),
	        cmocka_unit_test(test_from_h2),
	        cmocka_unit_test(test_from_h2_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
