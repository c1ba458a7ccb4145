/* detour: the HTTP/1.1 body skipper (Content-Length and chunked, with its
 * caps) and pipelining, fed in every segmentation. */
#include "detour/http1_body.h"
#include "http1_test.h"

/* ---- the body skipper -------------------------------------------------- */

struct bcase {
	const char *name;
	const char *in;
	size_t len;
	bool chunked;
	uint64_t cl;
	uint64_t max_body;
	int status;      /* 0: DETOUR_OK, -1: DETOUR_INCOMPLETE */
	size_t consumed; /* also the body's total: framing counts as body */
};

#define MB 1048576

static const struct bcase bodies[] = {
        {"length", IN("helloGET"), false, 5, MB, 0, 5},
        {"length, short", IN("hel"), false, 5, MB, -1, 3},
        {"length over max_body", IN("hello"), false, 5, 4, 413, 0},
        {"length at max_body", IN("hello"), false, 5, 5, 0, 5},
        {"chunked", IN("5\r\nhello\r\n0\r\n\r\n"), true, 0, MB, 0, 15},
        {"chunked then pipelined", IN("5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n"), true, 0, MB, 0,
         15},
        {"extensions and trailers",
         IN("5;a=b;c=\"x\\\"y\";d\r\nhello\r\n3 ; e = f ;g\r\nabc\r\n0;last\r\n"
            "X-T: 1\r\nY:\r\nZ: \xc3\xa9 \t\r\n\r\nNEXT"),
         true, 0, MB, 0, 75},
        {"quoted-string with tab and obs-text", IN("1;q=\"a\tb\x80\\\x81\"\r\nx\r\n0\r\n\r\n"),
         true, 0, MB, 0, 22},
        {"hex sizes", IN("A\r\n0123456789\r\na\r\n0123456789\r\n000\r\n\r\n"), true, 0, MB, 0, 37},
        {"chunked at max_body", IN("8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n"), true, 0, 31, 0,
         31},
        {"16 hex digits", IN("fffffffffffffff0\r\nab"), true, 0, UINT64_MAX, -1, 20},
        {"chunked, incomplete", IN("5\r\nhel"), true, 0, MB, -1, 6},
        {"chunked, incomplete trailer", IN("0\r\nX: y\r\n"), true, 0, MB, -1, 9},
        {"bare LF after size", IN("5\nhello\r\n0\r\n\r\n"), true, 0, MB, 400, 1},
        {"bare CR after size", IN("5\rhello\r\n0\r\n\r\n"), true, 0, MB, 400, 2},
        {"data longer than size", IN("5\r\nhelloX\r\n0\r\n\r\n"), true, 0, MB, 400, 8},
        {"bare CR after data", IN("5\r\nhello\rX0\r\n\r\n"), true, 0, MB, 400, 9},
        {"bare LF after data", IN("5\r\nhello\n0\r\n\r\n"), true, 0, MB, 400, 8},
        {"not hex", IN("g\r\n"), true, 0, MB, 400, 0},
        {"empty size", IN("\r\n"), true, 0, MB, 400, 0},
        {"negative size", IN("-5\r\n"), true, 0, MB, 400, 0},
        {"0x prefix", IN("0x5\r\n"), true, 0, MB, 400, 1},
        {"space after size", IN("5 \r\nhello\r\n0\r\n\r\n"), true, 0, MB, 400, 2},
        {"space before size", IN(" 5\r\nhello\r\n0\r\n\r\n"), true, 0, MB, 400, 0},
        {"empty extension", IN("5;\r\nhello\r\n0\r\n\r\n"), true, 0, MB, 400, 2},
        {"empty extension value", IN("5;a=\r\nhello\r\n0\r\n\r\n"), true, 0, MB, 400, 4},
        {"space inside extension", IN("5;a b\r\nhello\r\n0\r\n\r\n"), true, 0, MB, 400, 4},
        {"space before CR in extension", IN("5;a \r\nhello\r\n0\r\n\r\n"), true, 0, MB, 400, 4},
        {"unterminated quote", IN("5;a=\"x\r\nhello\r\n0\r\n\r\n"), true, 0, MB, 400, 6},
        {"DEL in quote", IN("5;a=\"\x7f\"\r\nhello\r\n0\r\n\r\n"), true, 0, MB, 400, 5},
        {"bad byte after quote", IN("5;a=\"x\"y\r\nhello\r\n0\r\n\r\n"), true, 0, MB, 400, 7},
        {"NUL in extension", IN("5;a\0\r\n"), true, 0, MB, 400, 3},
        {"bare LF in extension", IN("5;a=b\nhello"), true, 0, MB, 400, 5},
        {"bare LF ends the body", IN("0\r\n\n"), true, 0, MB, 400, 3},
        {"bare CR ends the body", IN("0\r\n\rX"), true, 0, MB, 400, 4},
        {"trailer obs-fold", IN("0\r\nX: a\r\n b\r\n\r\n"), true, 0, MB, 400, 9},
        {"trailer space in name", IN("0\r\nX y: z\r\n\r\n"), true, 0, MB, 400, 4},
        {"trailer space before colon", IN("0\r\nX : z\r\n\r\n"), true, 0, MB, 400, 4},
        {"trailer empty name", IN("0\r\n: z\r\n\r\n"), true, 0, MB, 400, 3},
        {"trailer bare LF", IN("0\r\nX: a\nb: c\r\n\r\n"), true, 0, MB, 400, 7},
        {"trailer bare CR", IN("0\r\nX: a\rb: c\r\n\r\n"), true, 0, MB, 400, 8},
        {"trailer NUL", IN("0\r\nX: a\0\r\n\r\n"), true, 0, MB, 400, 7},
        {"trailer without colon", IN("0\r\nX\r\n\r\n"), true, 0, MB, 400, 4},
        {"chunk over max_body", IN("11\r\n"), true, 0, 16, 413, 1},
        {"chunks over max_body", IN("8\r\n12345678\r\n9\r\n"), true, 0, 16, 413, 13},
        /* framing (extensions, CRLFs, trailers) counts against max_body */
        {"framing at max_body", IN("1;a\r\nx\r\n0\r\n\r\n"), true, 0, 13, 0, 13},
        {"framing over max_body", IN("1;a\r\nx\r\n0\r\n\r\n"), true, 0, 12, 413, 12},
        {"extensions over max_body", IN("1;abcdefgh\r\nx\r\n0\r\n\r\n"), true, 0, 8, 413, 8},
        {"trailers over max_body", IN("0\r\nX: abcdef\r\n\r\n"), true, 0, 10, 413, 10},
        {"17 hex digits", IN("00000000000000001\r\nx\r\n"), true, 0, UINT64_MAX, 413, 16},
        {"size overflows", IN("10000000000000000\r\n"), true, 0, UINT64_MAX, 413, 16},
};

/* Feeds in to a fresh skipper in pieces cut at the given split points (each
 * piece behind its own guard page); returns the result and the bytes eaten. */
static detour_err skip_pieces(const struct bcase *c, const size_t *cuts, size_t ncuts,
                              size_t *consumed, int *status, struct detour_http1_body *b)
{
	struct detour_request req = {
	        .chunked = c->chunked, .has_content_length = !c->chunked, .content_length = c->cl};
	struct detour_http1_limits l = defl();
	size_t at = 0;
	detour_err e = DETOUR_INCOMPLETE;

	l.max_body = c->max_body;
	detour_http1_body_init(b, &req, &l);
	*consumed = 0;
	*status = 0;
	for (size_t i = 0; i <= ncuts && e == DETOUR_INCOMPLETE; i++) {
		size_t to = i < ncuts ? cuts[i] : c->len, got = 99999;
		struct guard g;
		char *p = guard_copy(&g, c->in + at, to - at);
		e = detour_http1_body_skip(b, p, to - at, &got, status);
		guard_free(&g);
		assert_true(got <= to - at);
		if (e == DETOUR_INCOMPLETE)
			assert_int_equal(got, to - at);
		*consumed += got;
		at = to;
	}
	return e;
}

static void check_body(const struct bcase *c, const size_t *cuts, size_t ncuts, const char *how)
{
	struct detour_http1_body b;
	size_t consumed;
	int st;
	detour_err e = skip_pieces(c, cuts, ncuts, &consumed, &st, &b);
	detour_err want = c->status == 0    ? DETOUR_OK
	                  : c->status == -1 ? DETOUR_INCOMPLETE
	                                    : err_of(c->status);
	int want_st = c->status > 0 ? c->status : 0;

	CHECK(e == want && st == want_st, c->name, "%s: err %d status %d", how, e, st);
	CHECK(consumed == c->consumed, c->name, "%s: consumed %zu", how, consumed);
	CHECK(b.total == consumed, c->name, "%s: total %llu", how, (unsigned long long)b.total);
	CHECK(detour_http1_body_done(&b) == (c->status == 0), c->name, "%s: done", how);
	if (c->status > 0) {
		/* the error sticks */
		size_t got = 1;
		st = 0;
		e = detour_http1_body_skip(&b, "0\r\n\r\n", 5, &got, &st);
		CHECK(e == want && st == want_st && got == 0, c->name, "%s: sticky", how);
	} else if (c->status == 0) {
		size_t got = 1;
		e = detour_http1_body_skip(&b, "GET", 3, &got, &st);
		CHECK(e == DETOUR_OK && got == 0, c->name, "%s: done stays done", how);
	}
}

static void test_body(void **state)
{
	static size_t cuts[16384];

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		const struct bcase *c = &bodies[i];
		check_body(c, NULL, 0, "whole");
		for (size_t k = 0; k + 1 < c->len; k++)
			cuts[k] = k + 1;
		check_body(c, cuts, c->len ? c->len - 1 : 0, "byte by byte");
		for (size_t k = 0; k <= c->len; k++) {
			size_t two[2] = {k, k};
			check_body(c, two, 2, "split with an empty piece");
		}
	}
}

/* One chunk-size line and the trailer section are capped at 8 KiB. */
static void test_body_caps(void **state)
{
	static char in[3 * 8192];
	static size_t cuts[3 * 8192];
	struct bcase c = {.chunked = true, .max_body = MB, .in = in};
	size_t n;

	/* a size line of exactly 8192 bytes, CRLF included */
	n = (size_t)sprintf(in, "1;");
	fill(in + n, 'a', 8192 - 2 - n);
	n = 8190;
	n += (size_t)sprintf(in + n, "\r\nx\r\n0\r\n\r\n");
	c = (struct bcase){"size line at cap", in, n, true, 0, MB, 0, n};
	check_body(&c, NULL, 0, "whole");
	for (size_t k = 0; k + 1 < n; k++)
		cuts[k] = k + 1;
	check_body(&c, cuts, n - 1, "byte by byte");
	/* one more byte: refused at byte 8192 */
	n = (size_t)sprintf(in, "1;");
	fill(in + n, 'a', 8193 - 2 - n);
	n = 8191;
	n += (size_t)sprintf(in + n, "\r\nx\r\n0\r\n\r\n");
	c = (struct bcase){"size line over cap", in, n, true, 0, MB, 400, 8192};
	check_body(&c, NULL, 0, "whole");
	check_body(&c, cuts, n - 1, "byte by byte");

	/* a trailer section of exactly 8192 bytes, final CRLF included */
	n = (size_t)sprintf(in, "0\r\nX: ");
	fill(in + n, 'v', 3 + 8192 - 4 - n);
	n = 3 + 8192 - 4;
	n += (size_t)sprintf(in + n, "\r\n\r\n");
	c = (struct bcase){"trailers at cap", in, n, true, 0, MB, 0, n};
	check_body(&c, NULL, 0, "whole");
	check_body(&c, cuts, n - 1, "byte by byte");
	n = (size_t)sprintf(in, "0\r\nX: ");
	fill(in + n, 'v', 3 + 8193 - 4 - n);
	n = 3 + 8193 - 4;
	n += (size_t)sprintf(in + n, "\r\n\r\n");
	c = (struct bcase){"trailers over cap", in, n, true, 0, MB, 400, 3 + 8192};
	check_body(&c, NULL, 0, "whole");
	check_body(&c, cuts, n - 1, "byte by byte");

	/* many small chunks pass: the caps are per line */
	n = 0;
	for (int i = 0; i < 1500; i++)
		n += (size_t)sprintf(in + n, "1;e=%d\r\nx\r\n", i);
	n += (size_t)sprintf(in + n, "0\r\n\r\n");
	c = (struct bcase){"many chunks", in, n, true, 0, MB, 0, n};
	check_body(&c, NULL, 0, "whole");
	for (size_t k = 0; k + 1 < n; k++)
		cuts[k] = k + 1;
	check_body(&c, cuts, n - 1, "byte by byte");
}

/* No body: done at once. */
static void test_body_none(void **state)
{
	static struct detour_request req;
	struct detour_http1_limits l = defl();
	struct detour_http1_body b;
	size_t got = 7;
	int st;

	assert_int_equal(parse_guarded("GET / HTTP/1.1\r\nHost: h\r\n\r\n", 27, &l, &req, &st),
	                 DETOUR_OK);
	detour_http1_body_init(&b, &req, &l);
	assert_true(detour_http1_body_done(&b));
	assert_int_equal(detour_http1_body_skip(&b, "GET", 3, &got, &st), DETOUR_OK);
	assert_int_equal(got, 0);
	assert_int_equal(parse_guarded(P11 "Content-Length: 0\r\n\r\n", 47, &l, &req, &st),
	                 DETOUR_OK);
	detour_http1_body_init(&b, &req, &l);
	assert_true(detour_http1_body_done(&b));
	assert_int_equal(parse_guarded(P11 "Content-Length: 3\r\n\r\n", 47, &l, &req, &st),
	                 DETOUR_OK);
	detour_http1_body_init(&b, &req, &l);
	assert_false(detour_http1_body_done(&b));
	assert_int_equal(detour_http1_body_skip(&b, "ab", 2, &got, &st), DETOUR_INCOMPLETE);
	assert_int_equal(got, 2);
	assert_false(detour_http1_body_done(&b));
	assert_int_equal(detour_http1_body_skip(&b, "", 0, &got, &st), DETOUR_INCOMPLETE);
	assert_int_equal(got, 0);
	assert_int_equal(detour_http1_body_skip(&b, "cd", 2, &got, &st), DETOUR_OK);
	assert_int_equal(got, 1);
	assert_true(detour_http1_body_done(&b));
	assert_int_equal(b.total, 3);
}

/* ---- pipelining -------------------------------------------------------- */

/* Parses requests from in in sequence, skipping bodies; feeding step bytes
 * at a time (0: all at once). Checks the paths seen. */
static void run_pipeline(const char *in, size_t len, size_t step, const char *const *paths,
                         size_t npaths)
{
	static struct detour_request req;
	struct detour_http1_limits l = defl();
	struct detour_http1_body b;
	size_t at = 0, avail = step ? 0 : len, seen = 0;
	bool in_body = false;

	while (at < len) {
		int st = -1;
		if (step && avail < len)
			avail = avail + step < len ? avail + step : len;
		if (!in_body) {
			struct guard g;
			char *p = guard_copy(&g, in + at, avail - at);
			detour_err e = detour_http1_parse(p, avail - at, &l, &req, &st);
			if (e == DETOUR_INCOMPLETE) {
				guard_free(&g);
				assert_true(avail < len);
				continue;
			}
			assert_int_equal(e, DETOUR_OK);
			assert_true(seen < npaths);
			assert_int_equal(req.path_len, strlen(paths[seen]));
			assert_memory_equal(req.path, paths[seen], req.path_len);
			guard_free(&g);
			seen++;
			at += req.head_len;
			detour_http1_body_init(&b, &req, &l);
			in_body = !detour_http1_body_done(&b);
		}
		if (in_body) {
			size_t got;
			struct guard g;
			char *p = guard_copy(&g, in + at, avail - at);
			detour_err e = detour_http1_body_skip(&b, p, avail - at, &got, &st);
			guard_free(&g);
			at += got;
			if (e == DETOUR_OK)
				in_body = false;
			else
				assert_int_equal(e, DETOUR_INCOMPLETE);
		}
	}
	assert_int_equal(seen, npaths);
	assert_false(in_body);
}

static void test_pipeline(void **state)
{
	static const char three[] =
	        "GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
	        "GET /two?x HTTP/1.1\r\nHost: h\r\n\r\n"
	        "\r\nHEAD /three HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
	static const char *const three_paths[] = {"/one", "/two", "/three"};
	static const char bodies_in[] =
	        "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
	        "POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
	        "\r\n"
	        "4;name=\"v\\\"al\"\r\nwxyz\r\n1\r\n!\r\n0;end\r\n"
	        "Trailer-A: 1\r\nTrailer-B: two words\r\n\r\n"
	        "GET /c HTTP/1.1\r\nHost: h\r\n\r\n";
	static const char *const bodies_paths[] = {"/a", "/b", "/c"};
	static struct detour_request req;
	struct detour_http1_limits l = defl();
	int st;
	size_t at = 0;

	/* the three requests, by hand, with exact head lengths */
	assert_int_equal(parse_guarded(three, sizeof(three) - 1, &l, &req, &st), DETOUR_OK);
	assert_int_equal(req.head_len, 30);
	assert_true(req.keep_alive);
	at += req.head_len;
	assert_int_equal(parse_guarded(three + at, sizeof(three) - 1 - at, &l, &req, &st),
	                 DETOUR_OK);
	assert_int_equal(req.head_len, 32);
	assert_true(slice_is(req.query, req.query_len, "x"));
	at += req.head_len;
	assert_int_equal(parse_guarded(three + at, sizeof(three) - 1 - at, &l, &req, &st),
	                 DETOUR_OK);
	assert_int_equal(req.head_len, 54);
	assert_int_equal(req.method_id, DETOUR_M_HEAD);
	assert_false(req.keep_alive);
	at += req.head_len;
	assert_int_equal(at, sizeof(three) - 1);

	for (size_t step = 0; step <= 7; step++) {
		run_pipeline(three, sizeof(three) - 1, step, three_paths, 3);
		run_pipeline(bodies_in, sizeof(bodies_in) - 1, step, bodies_paths, 3);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_body),
	        cmocka_unit_test(test_body_caps),
	        cmocka_unit_test(test_body_none),
	        cmocka_unit_test(test_pipeline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
