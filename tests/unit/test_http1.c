/* Unit tests for lib/http1.c: every accept and reject rule with its exact
 * status, each input parsed whole and as every prefix, every input behind a
 * guard page; pipelining; the body skipper whole, byte by byte and split at
 * every position. */
#include "http1_test.h"

/* ---- accepted heads ---------------------------------------------------- */

enum { ABS = 1, AST = 2, HTTPS = 4 };

struct acase {
	const char *name;
	const char *in;
	size_t len;
	enum detour_method mid;
	const char *method;
	const char *target;
	const char *path;
	const char *query; /* NULL: expect NULL */
	const char *host;  /* NULL: expect NULL */
	int minor;
	bool ka;
	bool chunked;
	bool has_cl;
	uint64_t cl;
	bool expect;
	unsigned form;
	unsigned nh;
};

static const struct acase accepts[] = {
        {"simple GET", IN("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"), DETOUR_M_GET, "GET", "/",
         "/", NULL, "example.com", 1, true, .nh = 1},
        {"query", IN("GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: h\r\n\r\n"), DETOUR_M_GET, "GET",
         "/a/b?x=1&y=2", "/a/b", "x=1&y=2", "h", 1, true, .nh = 1},
        {"empty query", IN("GET /p? HTTP/1.1\r\nHost: h\r\n\r\n"), DETOUR_M_GET, "GET", "/p?", "/p",
         "", "h", 1, true, .nh = 1},
        {"second ? in query", IN("HEAD /p?a?b HTTP/1.1\r\nHost: h\r\n\r\n"), DETOUR_M_HEAD, "HEAD",
         "/p?a?b", "/p", "a?b", "h", 1, true, .nh = 1},
        {"all visible bytes", IN("GET /%7E~!$&'()*+,;=:@[]\"<>{}|\\^` HTTP/1.1\r\nHost: h\r\n\r\n"),
         DETOUR_M_GET, "GET", "/%7E~!$&'()*+,;=:@[]\"<>{}|\\^`", "/%7E~!$&'()*+,;=:@[]\"<>{}|\\^`",
         NULL, "h", 1, true, .nh = 1},
        {"1.0 without Host", IN("GET / HTTP/1.0\r\n\r\n"), DETOUR_M_GET, "GET", "/", "/", NULL,
         NULL, 0, false, .nh = 0},
        {"1.0 keep-alive", IN("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), DETOUR_M_GET,
         "GET", "/", "/", NULL, NULL, 0, true, .nh = 1},
        {"1.0 keep-alive and close", IN("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"),
         DETOUR_M_GET, "GET", "/", "/", NULL, NULL, 0, false, .nh = 1},
        {"1.0 with Host", IN("GET /x HTTP/1.0\r\nHost: h:80\r\n\r\n"), DETOUR_M_GET, "GET", "/x",
         "/x", NULL, "h:80", 0, false, .nh = 1},
        {"1.1 close", IN("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"), DETOUR_M_GET,
         "GET", "/", "/", NULL, "h", 1, false, .nh = 2},
        {"close in a list, any case",
         IN("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo\r\nConnection: bar ,CLOSE\t,\r\n\r\n"),
         DETOUR_M_GET, "GET", "/", "/", NULL, "h", 1, false, .nh = 3},
        {"1.1 keep-alive token", IN("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n"),
         DETOUR_M_GET, "GET", "/", "/", NULL, "h", 1, true, .nh = 2},
        {"close as a substring only", IN("GET / HTTP/1.1\r\nHost: h\r\nConnection: closed\r\n\r\n"),
         DETOUR_M_GET, "GET", "/", "/", NULL, "h", 1, true, .nh = 2},
        {"leading empty lines", IN("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"), DETOUR_M_GET,
         "GET", "/", "/", NULL, "h", 1, true, .nh = 1},
        {"absolute-form", IN("GET http://example.com:8080/x/y?q=1 HTTP/1.1\r\nHost: other\r\n\r\n"),
         DETOUR_M_GET, "GET", "http://example.com:8080/x/y?q=1", "/x/y", "q=1", "example.com:8080",
         1, true, .form = ABS, .nh = 1},
        {"absolute-form https, empty path",
         IN("GET HTTPS://Example.COM HTTP/1.1\r\nHost: example.com\r\n\r\n"), DETOUR_M_GET, "GET",
         "HTTPS://Example.COM", "/", NULL, "Example.COM", 1, true, .form = ABS | HTTPS, .nh = 1},
        {"absolute-form, query without path", IN("GET http://h?x HTTP/1.1\r\nHost: h\r\n\r\n"),
         DETOUR_M_GET, "GET", "http://h?x", "/", "x", "h", 1, true, .form = ABS, .nh = 1},
        {"absolute-form, empty Host", IN("GET hTTp://h/ HTTP/1.1\r\nHost:\r\n\r\n"), DETOUR_M_GET,
         "GET", "hTTp://h/", "/", NULL, "h", 1, true, .form = ABS, .nh = 1},
        {"absolute-form, IPv6", IN("GET http://[::1]:8080/a HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"),
         DETOUR_M_GET, "GET", "http://[::1]:8080/a", "/a", NULL, "[::1]:8080", 1, true, .form = ABS,
         .nh = 1},
        {"absolute-form in 1.0 without Host", IN("GET http://h/p HTTP/1.0\r\n\r\n"), DETOUR_M_GET,
         "GET", "http://h/p", "/p", NULL, "h", 0, false, .form = ABS},
        {"asterisk-form", IN("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"), DETOUR_M_OPTIONS, "OPTIONS",
         "*", "*", NULL, "h", 1, true, .form = AST, .nh = 1},
        {"authority-form", IN("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
         DETOUR_M_CONNECT, "CONNECT", "example.com:443", "example.com:443", NULL, "example.com:443",
         1, true, .nh = 1},
        {"authority-form IPv6", IN("CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: x\r\n\r\n"),
         DETOUR_M_CONNECT, "CONNECT", "[2001:db8::1]:443", "[2001:db8::1]:443", NULL,
         "[2001:db8::1]:443", 1, true, .nh = 1},
        {"Content-Length", IN("POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n"),
         DETOUR_M_POST, "POST", "/f", "/f", NULL, "h", 1, true, .has_cl = true, .cl = 5, .nh = 2},
        {"Content-Length 0", IN("PUT /f HTTP/1.1\r\ncontent-length:0\r\nHost: h\r\n\r\n"),
         DETOUR_M_PUT, "PUT", "/f", "/f", NULL, "h", 1, true, .has_cl = true, .cl = 0, .nh = 2},
        {"Content-Length leading zeros",
         IN("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \t007 \r\n\r\n"), DETOUR_M_POST, "POST",
         "/", "/", NULL, "h", 1, true, .has_cl = true, .cl = 7, .nh = 2},
        {"Content-Length = max_body",
         IN("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1048576\r\n\r\n"), DETOUR_M_POST, "POST",
         "/", "/", NULL, "h", 1, true, .has_cl = true, .cl = 1048576, .nh = 2},
        {"chunked", IN("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"),
         DETOUR_M_POST, "POST", "/", "/", NULL, "h", 1, true, .chunked = true, .nh = 2},
        {"chunked, OWS and case",
         IN("POST / HTTP/1.1\r\nHost: h\r\ntransfer-encoding:\t  CHUNKED \t\r\n\r\n"),
         DETOUR_M_POST, "POST", "/", "/", NULL, "h", 1, true, .chunked = true, .nh = 2},
        {"Expect", IN("PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\n\r\n"), DETOUR_M_PUT,
         "PUT", "/", "/", NULL, "h", 1, true, .expect = true, .nh = 2},
        {"other Expect", IN("PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continued\r\n\r\n"),
         DETOUR_M_PUT, "PUT", "/", "/", NULL, "h", 1, true, .nh = 2},
        {"HOST upper case", IN("DELETE /d HTTP/1.1\r\nHOST: h\r\n\r\n"), DETOUR_M_DELETE, "DELETE",
         "/d", "/d", NULL, "h", 1, true, .nh = 1},
        {"obs-text in a value", IN("GET / HTTP/1.1\r\nHost: h\r\nX-T: \xc3\xa9t\xc3\xa9\r\n\r\n"),
         DETOUR_M_GET, "GET", "/", "/", NULL, "h", 1, true, .nh = 2},
        {"other method", IN("PROPFIND /x HTTP/1.1\r\nHost: h\r\n\r\n"), DETOUR_M_OTHER, "PROPFIND",
         "/x", "/x", NULL, "h", 1, true, .nh = 1},
        {"HTTP/1.2 is HTTP/1.1 (RFC 9110 §6.2)", IN("GET /v HTTP/1.2\r\nHost: h\r\n\r\n"),
         DETOUR_M_GET, "GET", "/v", "/v", NULL, "h", 1, true, .nh = 1},
        {"HTTP/1.9 is HTTP/1.1", IN("GET /v HTTP/1.9\r\nHost: h\r\n\r\n"), DETOUR_M_GET, "GET",
         "/v", "/v", NULL, "h", 1, true, .nh = 1},
        {"method of 32 bytes",
         IN("ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEF /x HTTP/1.1\r\nHost: h\r\n\r\n"), DETOUR_M_OTHER,
         "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEF", "/x", "/x", NULL, "h", 1, true, .nh = 1},
        {"method with tchar punctuation", IN("M-SEARCH! /x HTTP/1.1\r\nHost: h\r\n\r\n"),
         DETOUR_M_OTHER, "M-SEARCH!", "/x", "/x", NULL, "h", 1, true, .nh = 1},
        {"lower-case method is another method", IN("get / HTTP/1.1\r\nHost: h\r\n\r\n"),
         DETOUR_M_OTHER, "get", "/", "/", NULL, "h", 1, true, .nh = 1},
        {"PATCH", IN("PATCH / HTTP/1.1\r\nHost: h\r\n\r\n"), DETOUR_M_PATCH, "PATCH", "/", "/",
         NULL, "h", 1, true, .nh = 1},
        {"TRACE", IN("TRACE / HTTP/1.1\r\nHost: h\r\n\r\n"), DETOUR_M_TRACE, "TRACE", "/", "/",
         NULL, "h", 1, true, .nh = 1},
        {"OPTIONS origin-form", IN("OPTIONS /o HTTP/1.1\r\nHost: h\r\n\r\n"), DETOUR_M_OPTIONS,
         "OPTIONS", "/o", "/o", NULL, "h", 1, true, .nh = 1},
};

static void test_accept(void **state)
{
	static struct detour_request req;
	struct detour_http1_limits l = defl();

	for (size_t i = 0; i < sizeof(accepts) / sizeof(accepts[0]); i++) {
		const struct acase *c = &accepts[i];
		int st = -1;
		detour_err e = parse_guarded(c->in, c->len, &l, &req, &st);
		CHECK(e == DETOUR_OK && st == 0, c->name, "err %d status %d", e, st);
		CHECK(req.head_len == c->len, c->name, "head_len %zu", req.head_len);
		CHECK(req.method_id == c->mid, c->name, "method_id %d", req.method_id);
		CHECK(slice_is(req.method, req.method_len, c->method), c->name, "method");
		CHECK(slice_is(req.target, req.target_len, c->target), c->name, "target");
		CHECK(slice_is(req.path, req.path_len, c->path), c->name, "path");
		CHECK(slice_is(req.query, req.query_len, c->query), c->name, "query");
		CHECK(slice_is(req.host, req.host_len, c->host), c->name, "host");
		CHECK(req.minor_version == c->minor, c->name, "minor %d", req.minor_version);
		CHECK(req.keep_alive == c->ka, c->name, "keep_alive");
		CHECK(req.chunked == c->chunked, c->name, "chunked");
		CHECK(req.has_content_length == c->has_cl, c->name, "has_content_length");
		CHECK(req.content_length == c->cl, c->name, "content_length");
		CHECK(req.expect_continue == c->expect, c->name, "expect_continue");
		CHECK(req.absolute_form == !!(c->form & ABS), c->name, "absolute_form");
		CHECK(req.asterisk_form == !!(c->form & AST), c->name, "asterisk_form");
		CHECK(req.https_target == !!(c->form & HTTPS), c->name, "https_target");
		CHECK(req.num_headers == c->nh, c->name, "num_headers %u", req.num_headers);
		check_prefixes(c->name, c->in, c->len, &l, 0, 0);
	}
}

/* Fields come back as received, values with OWS trimmed, in order. */
static void test_fields(void **state)
{
	static const char in[] = "GET / HTTP/1.1\r\n"
	                         "Host:   h  \r\n"
	                         "X-Empty:\r\n"
	                         "X-Blank: \t \r\n"
	                         "x-inner:  a  b\tc \t\r\n"
	                         "X-Obs:\xff\x80\r\n"
	                         "X-Empty: again\r\n"
	                         "\r\n";
	static const struct {
		const char *name, *value;
	} want[] = {{"Host", "h"},          {"X-Empty", ""},       {"X-Blank", ""},
	            {"x-inner", "a  b\tc"}, {"X-Obs", "\xff\x80"}, {"X-Empty", "again"}};
	static struct detour_request req;
	struct detour_http1_limits l = defl();
	int st;

	assert_int_equal(parse_guarded(in, sizeof(in) - 1, &l, &req, &st), DETOUR_OK);
	assert_int_equal(req.num_headers, 6);
	for (unsigned i = 0; i < 6; i++) {
		assert_true(slice_is(req.headers[i].name, req.headers[i].name_len, want[i].name));
		assert_true(
		        slice_is(req.headers[i].value, req.headers[i].value_len, want[i].value));
	}
	assert_true(slice_is(req.host, req.host_len, "h"));
	assert_int_equal(detour_http1_find(&req, "host", 4, 0), 0);
	assert_int_equal(detour_http1_find(&req, "HOST", 4, 1), -1);
	assert_int_equal(detour_http1_find(&req, "x-empty", 7, 0), 1);
	assert_int_equal(detour_http1_find(&req, "x-empty", 7, 2), 5);
	assert_int_equal(detour_http1_find(&req, "x-empty", 7, 6), -1);
	assert_int_equal(detour_http1_find(&req, "X-INNER", 7, -3), 3);
	assert_int_equal(detour_http1_find(&req, "x-inne", 6, 0), -1);
	assert_int_equal(detour_http1_find(&req, "x-obs", 5, 0), 4);
	assert_int_equal(detour_http1_find(&req, "absent", 6, 0), -1);
	check_prefixes("fields", in, sizeof(in) - 1, &l, 0, 0);
}

/* Every byte value at several positions of a method, a target, a field name
 * and a field value (positions around 16 and 32 cross the SSE2 blocks). */
static void test_byte_classes(void **state)
{
	static const size_t pos[] = {0, 1, 14, 15, 16, 17, 31, 32, 33, 37};
	static struct detour_request req;
	struct detour_http1_limits l = defl();
	char in[256];
	int st;

	for (unsigned b = 0; b < 256; b++) {
		bool vchar = b >= 0x21 && b <= 0x7E;
		bool tchar = (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') ||
		             (b >= 'a' && b <= 'z') || (b && strchr("!#$%&'*+-.^_`|~", (int)b));
		bool value = b == '\t' || b == ' ' || vchar || b >= 0x80;
		size_t n;
		detour_err e;

		for (size_t k = 0; k < sizeof(pos) / sizeof(pos[0]); k++) {
			size_t at = pos[k];
			/* target "/" + 39 'a' with byte b at 1 + at */
			n = (size_t)sprintf(in, "GET /");
			memset(in + n, 'a', 39);
			in[n + at] = (char)b;
			n += 39;
			n += (size_t)sprintf(in + n, " HTTP/1.1\r\nHost: h\r\n\r\n");
			e = parse_guarded(in, n, &l, &req, &st);
			CHECK(vchar ? e == DETOUR_OK && req.target_len == 40
			            : e == DETOUR_EINVAL && st == 400,
			      "target byte", "byte %u at %zu: err %d", b, at, e);

			/* value of 40 bytes with byte b at at + 1 */
			n = (size_t)sprintf(in, "GET / HTTP/1.1\r\nHost: h\r\nX: ");
			size_t v = n;
			memset(in + n, 'v', 40);
			in[n + 1 + at] = (char)b;
			n += 40;
			n += (size_t)sprintf(in + n, "\r\n\r\n");
			e = parse_guarded(in, n, &l, &req, &st);
			CHECK(value ? e == DETOUR_OK && req.headers[1].value_len == 40 &&
			                      memcmp(req.headers[1].value, in + v, 40) == 0
			            : e == DETOUR_EINVAL && st == 400,
			      "value byte", "byte %u at %zu: err %d", b, at, e);
		}
		/* a field name "XbY" and a method "GbT" */
		n = (size_t)sprintf(in, "GET / HTTP/1.1\r\nHost: h\r\nX%cY: v\r\n\r\n", (int)b);
		e = parse_guarded(in, n, &l, &req, &st);
		CHECK(tchar || b == ':' ? e == DETOUR_OK : e == DETOUR_EINVAL && st == 400,
		      "name byte", "byte %u: err %d", b, e);
		if (e == DETOUR_OK)
			CHECK(req.headers[1].name_len == (b == ':' ? 1u : 3u), "name byte",
			      "byte %u", b);
		n = (size_t)sprintf(in, "G%cT /x HTTP/1.1\r\nHost: h\r\n\r\n", (int)b);
		e = parse_guarded(in, n, &l, &req, &st);
		CHECK(tchar ? e == DETOUR_OK && req.method_len == 3
		            : e == DETOUR_EINVAL && st == 400,
		      "method byte", "byte %u: err %d", b, e);
	}
}

/* ---- refused heads ----------------------------------------------------- */

struct rcase {
	const char *name;
	const char *in;
	size_t len;
	int status;
	bool small;       /* use small() limits instead of the defaults */
	size_t detect_at; /* when not 0: the shortest prefix that is refused */
};

static const struct rcase rejects[] = {
        /* line endings: CRLF only (RFC 9112 §2.2) */
        {"bare LF after version", IN("GET / HTTP/1.1\nHost: h\r\n\r\n"), 400, .detect_at = 15},
        {"bare CR after version", IN("GET / HTTP/1.1\rHost: h\r\n\r\n"), 400, .detect_at = 16},
        {"CR CR LF", IN("GET / HTTP/1.1\r\r\nHost: h\r\n\r\n"), 400, .detect_at = 16},
        {"bare LF leading", IN("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"), 400, .detect_at = 1},
        {"bare CR leading", IN("\rGET / HTTP/1.1\r\nHost: h\r\n\r\n"), 400, .detect_at = 2},
        {"bare LF after a leading CRLF", IN("\r\n\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"), 400,
         .detect_at = 3},
        {"bare LF ends a field", IN("GET / HTTP/1.1\r\nHost: h\n\r\n"), 400, .detect_at = 24},
        {"bare CR in a value", IN("GET / HTTP/1.1\r\nHost: h\rx\r\n\r\n"), 400, .detect_at = 25},
        {"bare LF as the final line", IN(H11 "\n"), 400, .detect_at = 26},
        {"bare CR as the final line", IN(H11 "\rX"), 400, .detect_at = 27},
        /* request line (RFC 9112 §3) */
        {"leading space", IN(" GET / HTTP/1.1\r\nHost: h\r\n\r\n"), 400, .detect_at = 1},
        {"two spaces after method", IN("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"), 400, .detect_at = 5},
        {"two spaces after target", IN("GET /  HTTP/1.1\r\nHost: h\r\n\r\n"), 400, .detect_at = 7},
        {"space after version", IN("GET / HTTP/1.1 \r\nHost: h\r\n\r\n"), 400, .detect_at = 15},
        {"tab after method", IN("GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400, .detect_at = 4},
        {"tab in target", IN("GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n"), 400, .detect_at = 7},
        {"HTTP/0.9 request", IN("GET /\r\n\r\n"), 400, .detect_at = 6},
        {"no version", IN("GET / \r\n\r\n"), 400, .detect_at = 7},
        {"lower-case version", IN("GET / http/1.1\r\nHost: h\r\n\r\n"), 400, .detect_at = 7},
        {"HTTP/1.10", IN("GET / HTTP/1.10\r\nHost: h\r\n\r\n"), 400, .detect_at = 15},
        {"HTTP/1", IN("GET / HTTP/1\r\nHost: h\r\n\r\n"), 400, .detect_at = 13},
        {"HTTP/11", IN("GET / HTTP/11\r\nHost: h\r\n\r\n"), 400, .detect_at = 13},
        {"HTTPS/1.1", IN("GET / HTTPS/1.1\r\nHost: h\r\n\r\n"), 400, .detect_at = 11},
        {"HTTP/2.0", IN("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), 505, .detect_at = 16},
        {"HTTP/0.9 line", IN("GET / HTTP/0.9\r\n\r\n"), 505, .detect_at = 16},
        {"HTTP/3.0", IN("GET / HTTP/3.0\r\nHost: h\r\n\r\n"), 505, .detect_at = 16},
        {"HTTP/1.2 without Host", IN("GET / HTTP/1.2\r\n\r\n"), 400, .detect_at = 18},
        {"method of 33 bytes",
         IN("ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG / HTTP/1.1\r\nHost: h\r\n\r\n"), 501,
         .detect_at = 33},
        {"HTTP/2.0 then junk", IN("GET / HTTP/2.0x\r\n\r\n"), 400, .detect_at = 15},
        {"quote in method", IN("GE\"T / HTTP/1.1\r\nHost: h\r\n\r\n"), 400, .detect_at = 3},
        {"NUL in method", IN("GE\0T / HTTP/1.1\r\nHost: h\r\n\r\n"), 400, .detect_at = 3},
        {"CTL in target", IN("GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n"), 400, .detect_at = 7},
        {"NUL in target", IN("GET /a\0 HTTP/1.1\r\nHost: h\r\n\r\n"), 400, .detect_at = 7},
        {"DEL in target", IN("GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n"), 400, .detect_at = 7},
        {"non-ASCII in target", IN("GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n"), 400,
         .detect_at = 6},
        {"space in target", IN("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n"), 400, .detect_at = 8},
        {"CR in target", IN("GET /a\r\nHost: h\r\n\r\n"), 400, .detect_at = 7},
        /* request-target forms (RFC 9112 §3.2) */
        {"relative target", IN("GET foo HTTP/1.1\r\nHost: h\r\n\r\n"), 400, .detect_at = 8},
        {"asterisk with GET", IN("GET * HTTP/1.1\r\nHost: h\r\n\r\n"), 400, .detect_at = 6},
        {"asterisk with more", IN("OPTIONS *x HTTP/1.1\r\nHost: h\r\n\r\n"), 400, .detect_at = 11},
        {"CONNECT origin-form", IN("CONNECT / HTTP/1.1\r\nHost: h\r\n\r\n"), 400, .detect_at = 10},
        {"authority-form with GET", IN("GET example.com:80 HTTP/1.1\r\nHost: h\r\n\r\n"), 400,
         .detect_at = 19},
        {"CONNECT without port", IN("CONNECT example.com HTTP/1.1\r\nHost: h\r\n\r\n"), 400,
         .detect_at = 20},
        {"CONNECT empty port", IN("CONNECT example.com: HTTP/1.1\r\nHost: h\r\n\r\n"), 400,
         .detect_at = 21},
        {"CONNECT absolute-form", IN("CONNECT http://h:80/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400,
         .detect_at = 21},
        {"ftp scheme", IN("GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400, .detect_at = 13},
        {"one slash", IN("GET http:/h HTTP/1.1\r\nHost: h\r\n\r\n"), 400, .detect_at = 12},
        {"empty authority", IN("GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n"), 400, .detect_at = 14},
        {"userinfo", IN("GET http://u:p@h/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400, .detect_at = 18},
        {"port too big", IN("GET http://h:65536/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400,
         .detect_at = 20},
        {"fragment", IN("GET http://h#f HTTP/1.1\r\nHost: h\r\n\r\n"), 400, .detect_at = 15},
        /* 414: detected before the request line ends */
        {"target over max_target", IN("GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n"),
         414, .small = true, .detect_at = 4 + 33},
        {"target over max_target, absolute",
         IN("GET http://example.com/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n"), 414,
         .small = true, .detect_at = 4 + 33},
        /* field lines (RFC 9112 §5) */
        {"space before colon", IN("GET / HTTP/1.1\r\nHost : h\r\n\r\n"), 400, .detect_at = 21},
        {"tab before colon", IN("GET / HTTP/1.1\r\nHost\t: h\r\n\r\n"), 400, .detect_at = 21},
        {"space in name", IN(H11 "X Y: z\r\n\r\n"), 400, .detect_at = 27},
        {"empty name", IN(H11 ": z\r\n\r\n"), 400, .detect_at = 26},
        {"no colon", IN(H11 "X-A\r\n\r\n"), 400, .detect_at = 29},
        {"quote in name", IN(H11 "X\"A: b\r\n\r\n"), 400, .detect_at = 27},
        {"non-ASCII in name", IN(H11 "X\x80: b\r\n\r\n"), 400, .detect_at = 27},
        {"obs-fold", IN(H11 "X-A: a\r\n b\r\n\r\n"), 400, .detect_at = 34},
        {"obs-fold with tab", IN(H11 "X-A: a\r\n\tb\r\n\r\n"), 400, .detect_at = 34},
        {"space before first field", IN("GET / HTTP/1.1\r\n Host: h\r\n\r\n"), 400,
         .detect_at = 17},
        {"NUL in value", IN(H11 "X-A: a\0b\r\n\r\n"), 400, .detect_at = 32},
        {"DEL in value", IN(H11 "X-A: a\x7f\r\n\r\n"), 400, .detect_at = 32},
        {"CTL in value", IN(H11 "X-A: a\x01\r\n\r\n"), 400, .detect_at = 32},
        {"VT in value", IN(H11 "X-A: a\x0b\r\n\r\n"), 400, .detect_at = 32},
        {"bare LF in value", IN(H11 "X-A: a\nb\r\n\r\n"), 400, .detect_at = 32},
        {"CR LF LF", IN(H11 "X-A: a\r\n\nb\r\n\r\n"), 400, .detect_at = 34},
        /* 431 */
        {"too many fields", IN("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"),
         431, .small = true, .detect_at = 44},
        {"head over max_header_bytes",
         IN(H11 "X: "
                "0123456789012345678901234567890123456789012345678901"
                "2345678901234567890123456789012345678901234567890123"
                "4567890123456789012345678901234567890123456789012345"
                "6789012345678901234567890123456789012345678901234567"
                "89012345678901234567890123456789\r\n\r\n"),
         431, .small = true, .detect_at = 257},
        /* Host (RFC 9112 §3.2) */
        {"no Host in 1.1", IN("GET / HTTP/1.1\r\nX: y\r\n\r\n"), 400, .detect_at = 24},
        {"two Hosts", IN("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400, .detect_at = 34},
        {"two equal Hosts", IN("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n"), 400,
         .detect_at = 34},
        {"two Hosts in 1.0", IN("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n"), 400,
         .detect_at = 34},
        {"empty Host in 1.1", IN("GET / HTTP/1.1\r\nHost: \r\n\r\n"), 400, .detect_at = 24},
        {"empty Host in 1.0", IN("GET / HTTP/1.0\r\nHost:\r\n\r\n"), 400, .detect_at = 23},
        {"invalid Host", IN("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400, .detect_at = 27},
        {"two Hosts with absolute-form", IN("GET http://h/ HTTP/1.1\r\nHost: h\r\nHost: h\r\n\r\n"),
         400, .detect_at = 42},
        {"no Host with absolute-form", IN("GET http://h/ HTTP/1.1\r\n\r\n"), 400, .detect_at = 26},
        /* Content-Length (RFC 9112 §6.3, RFC 9110 §8.6) */
        {"CL with +", IN(P11 "Content-Length: +5\r\n\r\n"), 400, .detect_at = 46},
        {"CL with -", IN(P11 "Content-Length: -1\r\n\r\n"), 400, .detect_at = 46},
        {"CL list", IN(P11 "Content-Length: 1,1\r\n\r\n"), 400, .detect_at = 47},
        {"CL list with OWS", IN(P11 "Content-Length: 1, 1\r\n\r\n"), 400, .detect_at = 48},
        {"CL two numbers", IN(P11 "Content-Length: 5 5\r\n\r\n"), 400, .detect_at = 47},
        {"CL empty", IN(P11 "Content-Length:\r\n\r\n"), 400, .detect_at = 43},
        {"CL hex", IN(P11 "Content-Length: 0x10\r\n\r\n"), 400, .detect_at = 48},
        {"CL 20 digits", IN(P11 "Content-Length: 00000000000000000001\r\n\r\n"), 400,
         .detect_at = 64},
        {"CL over 2^62", IN(P11 "Content-Length: 4611686018427387905\r\n\r\n"), 400,
         .detect_at = 63},
        {"CL twice, equal", IN(P11 "Content-Length: 5\r\nContent-Length: 5\r\n\r\n"), 400,
         .detect_at = 64},
        {"CL twice, different", IN(P11 "Content-Length: 5\r\ncontent-length: 6\r\n\r\n"), 400,
         .detect_at = 64},
        /* Transfer-Encoding (RFC 9112 §6.1, §6.3) */
        {"TE gzip", IN(P11 "Transfer-Encoding: gzip\r\n\r\n"), 400, .detect_at = 53},
        {"TE gzip, chunked", IN(P11 "Transfer-Encoding: gzip, chunked\r\n\r\n"), 501,
         .detect_at = 62},
        {"TE chunked, gzip", IN(P11 "Transfer-Encoding: chunked, gzip\r\n\r\n"), 400,
         .detect_at = 62},
        {"TE chunked, chunked", IN(P11 "Transfer-Encoding: chunked,chunked\r\n\r\n"), 400,
         .detect_at = 64},
        {"TE in two fields",
         IN(P11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"), 400,
         .detect_at = 84},
        {"TE chunked then identity",
         IN(P11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n"), 400,
         .detect_at = 85},
        {"TE xchunked", IN(P11 "Transfer-Encoding: xchunked\r\n\r\n"), 400, .detect_at = 57},
        {"TE chunk", IN(P11 "Transfer-Encoding: chunk\r\n\r\n"), 400, .detect_at = 54},
        {"TE chunked with a parameter", IN(P11 "Transfer-Encoding: chunked;q=1\r\n\r\n"), 400,
         .detect_at = 60},
        {"TE quoted", IN(P11 "Transfer-Encoding: \"chunked\"\r\n\r\n"), 400, .detect_at = 58},
        {"TE identity", IN(P11 "Transfer-Encoding: identity\r\n\r\n"), 400, .detect_at = 57},
        {"TE trailing comma", IN(P11 "Transfer-Encoding: chunked,\r\n\r\n"), 400, .detect_at = 57},
        {"TE leading comma", IN(P11 "Transfer-Encoding: , chunked\r\n\r\n"), 501, .detect_at = 58},
        {"TE empty", IN(P11 "Transfer-Encoding:\r\n\r\n"), 400, .detect_at = 48},
        {"TE in HTTP/1.0", IN("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400,
         .detect_at = 45},
        /* smuggling classics */
        {"CL then TE", IN(P11 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"), 400,
         .detect_at = 75},
        {"TE then CL", IN(P11 "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"), 400,
         .detect_at = 75},
        {"CL and unknown TE", IN(P11 "Content-Length: 5\r\nTransfer-Encoding: gzip\r\n\r\n"), 400,
         .detect_at = 72},
        {"CL and TE xchunked", IN(P11 "Content-Length: 5\r\nTransfer-Encoding: xchunked\r\n\r\n"),
         400, .detect_at = 76},
        {"TE space before colon", IN(P11 "Transfer-Encoding : chunked\r\n\r\n"), 400,
         .detect_at = 44},
        {"TE tab before colon", IN(P11 "Transfer-Encoding\t: chunked\r\n\r\n"), 400,
         .detect_at = 44},
        {"TE VT before value", IN(P11 "Transfer-Encoding:\x0b chunked\r\n\r\n"), 400,
         .detect_at = 45},
        {"TE folded", IN(P11 "Transfer-Encoding:\r\n chunked\r\n\r\n"), 400, .detect_at = 47},
        {"TE as obs-fold of another field", IN(P11 "X: y\r\n Transfer-Encoding: chunked\r\n\r\n"),
         400, .detect_at = 33},
        {"TE NUL after chunked", IN(P11 "Transfer-Encoding: chunked\0\r\n\r\n"), 400,
         .detect_at = 53},
        {"CL with leading +, smuggle", IN(P11 "Content-Length: +0\r\n\r\n"), 400, .detect_at = 46},
        {"TE name with a space", IN(P11 "Transfer Encoding: chunked\r\n\r\n"), 400,
         .detect_at = 35},
        {"NUL in Host", IN("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n"), 400, .detect_at = 24},
        {"bare LF in TE", IN(P11 "Transfer-Encoding: chunked\n\r\n"), 400, .detect_at = 53},
        /* 413 */
        {"CL over max_body", IN(P11 "Content-Length: 1048577\r\n\r\n"), 413, .detect_at = 53},
};

static void test_reject(void **state)
{
	for (size_t i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
		const struct rcase *c = &rejects[i];
		struct detour_http1_limits l = c->small ? small() : defl();
		check_prefixes(c->name, c->in, c->len, &l, c->status, c->detect_at);
	}
}

/* ---- Host and authority values ---------------------------------------- */

static void test_host_values(void **state)
{
	static const struct {
		const char *host;
		bool ok;
	} cases[] = {
	        {"example.com", true},
	        {"example.com:8080", true},
	        {"EXAMPLE.com:0", true},
	        {"h:65535", true},
	        {"h:", true},
	        {"127.0.0.1", true},
	        {"127.0.0.1:80", true},
	        {"ex%41mple.com", true},
	        {"a-b_c~d.e!$&'()*+,;=", true},
	        {"[::1]", true},
	        {"[::1]:443", true},
	        {"[::]", true},
	        {"[2001:db8::1]", true},
	        {"[2001:0db8:0000:0000:0000:ff00:0042:8329]", true},
	        {"[1:2:3:4:5:6:7::]", true},
	        {"[::2:3:4:5:6:7:8]", true},
	        {"[::ffff:192.0.2.1]", true},
	        {"[1:2:3:4:5:6:192.0.2.1]", true},
	        {"[v1.fe:x]", true},
	        {"[V7.a]", true},
	        {"h:65536", false},
	        {"h:123456", false},
	        {"h:8x", false},
	        {"h:-1", false},
	        {":80", false},
	        {"a b", false},
	        {"a/b", false},
	        {"a?b", false},
	        {"a#b", false},
	        {"user@a", false},
	        {"%zz", false},
	        {"a%4", false},
	        {"a\"b", false},
	        {"a:1:2", false},
	        {"[::1", false},
	        {"::1", false},
	        {"[]", false},
	        {"[::1]x", false},
	        {"[::1]:x", false},
	        {"[1::2::3]", false},
	        {"[1:2:3:4:5:6:7:8:9]", false},
	        {"[1:2:3:4:5:6:7]", false},
	        {"[1:2:3:4:5:6:7:8::]", false},
	        {"[12345::1]", false},
	        {"[g::1]", false},
	        {"[:1::2]", false},
	        {"[1::2:]", false},
	        {"[::ffff:192.0.2.256]", false},
	        {"[::ffff:192.0.02.1]", false},
	        {"[::ffff:192.0.2]", false},
	        {"[1.2.3.4]", false},
	        {"[fe80::1%25eth0]", false},
	        {"[v1.]", false},
	        {"[v.a]", false},
	        {"[vx.a]", false},
	        {"[v1.a/b]", false},
	};
	static struct detour_request req;
	struct detour_http1_limits l = defl();
	char in[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = snprintf(in, sizeof(in), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n",
		                 cases[i].host);
		int st = -1;
		detour_err e = parse_guarded(in, (size_t)n, &l, &req, &st);
		if (cases[i].ok) {
			CHECK(e == DETOUR_OK, cases[i].host, "err %d", e);
			CHECK(slice_is(req.host, req.host_len, cases[i].host), cases[i].host,
			      "host");
		} else {
			CHECK(e == DETOUR_EINVAL && st == 400, cases[i].host, "err %d status %d", e,
			      st);
		}
		/* The same authority in absolute-form and in authority-form
		 * ('/' and '?' end the authority there). */
		if (strpbrk(cases[i].host, "/?"))
			continue;
		n = snprintf(in, sizeof(in), "GET http://%s/x HTTP/1.1\r\nHost: h\r\n\r\n",
		             cases[i].host);
		e = parse_guarded(in, (size_t)n, &l, &req, &st);
		CHECK(e == (cases[i].ok ? DETOUR_OK : DETOUR_EINVAL), cases[i].host, "absolute %d",
		      e);
		if (e == DETOUR_OK)
			CHECK(slice_is(req.host, req.host_len, cases[i].host), cases[i].host,
			      "absolute host");
		n = snprintf(in, sizeof(in), "CONNECT %s HTTP/1.1\r\nHost: h\r\n\r\n",
		             cases[i].host);
		e = parse_guarded(in, (size_t)n, &l, &req, &st);
		/* authority-form needs a non-empty port */
		const char *colon = strrchr(cases[i].host, ':');
		const char *rb = strrchr(cases[i].host, ']');
		bool has_port = colon && colon[1] && (rb == NULL || colon > rb);
		CHECK(e == (cases[i].ok && has_port ? DETOUR_OK : DETOUR_EINVAL), cases[i].host,
		      "connect %d", e);
	}
}

/* ---- limits, exactly at and one past ----------------------------------- */

static void test_limits(void **state)
{
	static struct detour_request req;
	struct detour_http1_limits l = defl(), s = small();
	char in[1024];
	int st;
	size_t n;

	assert_int_equal(l.max_target, 8192);
	assert_int_equal(l.max_header_bytes, 32768);
	assert_int_equal(l.max_headers, 100);
	assert_int_equal(l.max_body, 1048576);

	/* target of exactly max_target bytes, then one more */
	n = (size_t)sprintf(in, "GET /");
	fill(in + n, 'a', 31);
	n += 31;
	n += (size_t)sprintf(in + n, " HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_int_equal(parse_guarded(in, n, &s, &req, &st), DETOUR_OK);
	assert_int_equal(req.target_len, 32);
	check_prefixes("target at max", in, n, &s, 0, 0);
	n = (size_t)sprintf(in, "GET /");
	fill(in + n, 'a', 32);
	n += 32;
	n += (size_t)sprintf(in + n, " HTTP/1.1\r\nHost: h\r\n\r\n");
	check_prefixes("target over max", in, n, &s, 414, 4 + 33);

	/* exactly max_headers fields, then one more */
	n = (size_t)sprintf(in, "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
	assert_int_equal(parse_guarded(in, n, &s, &req, &st), DETOUR_OK);
	assert_int_equal(req.num_headers, 4);
	check_prefixes("max_headers fields", in, n, &s, 0, 0);

	/* a head of exactly max_header_bytes bytes, then one more */
	n = (size_t)sprintf(in, "GET / HTTP/1.1\r\nHost: h\r\nX: ");
	fill(in + n, 'v', 256 - n - 4);
	n = 256 - 4;
	n += (size_t)sprintf(in + n, "\r\n\r\n");
	assert_int_equal(n, 256);
	assert_int_equal(parse_guarded(in, n, &s, &req, &st), DETOUR_OK);
	assert_int_equal(req.head_len, 256);
	check_prefixes("head at max", in, n, &s, 0, 0);
	memmove(in + 2, in, n);
	in[0] = '\r';
	in[1] = '\n';
	n += 2;
	/* leading empty lines count against max_header_bytes */
	check_prefixes("head over max with a leading CRLF", in, n, &s, 431, 257);

	/* A head over max_header_bytes is refused even when complete, and a
	 * buffer holding more than max_header_bytes without a head is refused
	 * whatever follows. */
	n = (size_t)sprintf(in, "GET / HTTP/1.1\r\nHost: h\r\nX: ");
	fill(in + n, 'v', 600 - n);
	assert_int_equal(parse_guarded(in, 256, &s, &req, &st), DETOUR_INCOMPLETE);
	assert_int_equal(parse_guarded(in, 257, &s, &req, &st), DETOUR_ETOOBIG);
	assert_int_equal(st, 431);
	assert_int_equal(parse_guarded(in, 600, &s, &req, &st), DETOUR_ETOOBIG);
	assert_int_equal(st, 431);

	/* max_headers is capped at the array size */
	struct detour_http1_limits big = l;
	big.max_headers = 100000;
	big.max_header_bytes = 1 << 20;
	char *many = malloc(16 * 300 + 64);
	assert_non_null(many);
	n = (size_t)sprintf(many, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < DETOUR_HTTP1_MAX_HEADERS_HARD; i++)
		n += (size_t)sprintf(many + n, "Host%d: x\r\n", i);
	memcpy(many + n, "\r\n", 2);
	assert_int_equal(parse_guarded(many, n + 2, &big, &req, &st), DETOUR_EINVAL);
	n += (size_t)sprintf(many + n, "X: y\r\n\r\n");
	assert_int_equal(parse_guarded(many, n, &big, &req, &st), DETOUR_ETOOBIG);
	assert_int_equal(st, 431);
	free(many);
}

/* Content-Length over max_body: 413, but the head is parsed whole. */
static void test_too_big_body(void **state)
{
	static struct detour_request req;
	static const char in[] =
	        "POST /up?x HTTP/1.1\r\nHost: h\r\nContent-Length: 1001\r\n\r\nbody";
	struct detour_http1_limits s = small();
	int st = -1;

	assert_int_equal(parse_guarded(in, sizeof(in) - 1, &s, &req, &st), DETOUR_ETOOBIG);
	assert_int_equal(st, 413);
	assert_int_equal(req.head_len, sizeof(in) - 1 - 4);
	assert_true(req.has_content_length);
	assert_int_equal(req.content_length, 1001);
	assert_int_equal(req.method_id, DETOUR_M_POST);
	assert_true(slice_is(req.path, req.path_len, "/up"));
	assert_true(slice_is(req.query, req.query_len, "x"));
	assert_true(slice_is(req.host, req.host_len, "h"));
	assert_int_equal(req.num_headers, 2);

	/* Up to 2^62 when max_body allows it. */
	static const char big[] =
	        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4611686018427387904"
	        "\r\n\r\n";
	struct detour_http1_limits l = defl();
	l.max_body = UINT64_MAX;
	assert_int_equal(parse_guarded(big, sizeof(big) - 1, &l, &req, &st), DETOUR_OK);
	assert_true(req.content_length == ((uint64_t)1 << 62));
	assert_int_equal(parse_guarded(big, sizeof(big) - 1, &s, &req, &st), DETOUR_ETOOBIG);
	assert_int_equal(st, 413);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_accept),       cmocka_unit_test(test_fields),
	        cmocka_unit_test(test_byte_classes), cmocka_unit_test(test_reject),
	        cmocka_unit_test(test_host_values),  cmocka_unit_test(test_limits),
	        cmocka_unit_test(test_too_big_body),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
