/* Shared by the HTTP/1.1 parser's tests (test_http1.c, test_http1_body.c):
 * limits, guarded parsing (the input against an unreadable page) and the
 * prefix checker. */
#ifndef DETOUR_TEST_HTTP1_TEST_H
#define DETOUR_TEST_HTTP1_TEST_H

#include "unit.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "detour/http1.h"

/* Inputs may hold NUL: IN() records the length from the literal. */
#define IN(s) .in = (s), .len = sizeof(s) - 1

#define CHECK(cond, name, fmt, ...)                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fail_msg("%s: %s (" fmt ")", (name), #cond, ##__VA_ARGS__);                \
	} while (0)

static inline struct detour_http1_limits defl(void)
{
	struct detour_http1_limits l;
	detour_http1_limits_default(&l);
	return l;
}

/* Small limits so that tests reach them with short inputs. */
static inline struct detour_http1_limits small(void)
{
	struct detour_http1_limits l = {
	        .max_target = 32, .max_header_bytes = 256, .max_headers = 4, .max_body = 1000};
	return l;
}

static inline detour_err err_of(int status)
{
	switch (status) {
	case 0:
		return DETOUR_OK;
	case 400:
		return DETOUR_EINVAL;
	case 413:
	case 414:
	case 431:
		return DETOUR_ETOOBIG;
	default:
		return DETOUR_EUNSUPPORTED; /* 501, 505 */
	}
}

static inline detour_err parse_guarded(const char *in, size_t len,
                                       const struct detour_http1_limits *l,
                                       struct detour_request *req, int *status)
{
	struct guard g;
	char *p = guard_copy(&g, in, len);
	detour_err e = detour_http1_parse(p, len, l, req, status);
	/* The request points into the copy: rebase its pointers onto in so
	 * that callers may read them after the guard is gone. */
	if (e == DETOUR_OK || *status == 413) {
#define REBASE(x)                                                                                  \
	if (x)                                                                                     \
	(x) = in + ((x)-p)
		REBASE(req->method);
		REBASE(req->target);
		if (req->path >= p && req->path < p + len)
			REBASE(req->path);
		REBASE(req->query);
		REBASE(req->host);
		for (unsigned i = 0; i < req->num_headers; i++) {
			REBASE(req->headers[i].name);
			REBASE(req->headers[i].value);
		}
#undef REBASE
	}
	guard_free(&g);
	return e;
}

/* Parses in whole and checks the result; then every prefix: each must give
 * DETOUR_INCOMPLETE until some length from which on every longer prefix
 * gives the whole input's answer (detect_at, when not 0, is that length). */
static inline void check_prefixes(const char *name, const char *in, size_t len,
                                  const struct detour_http1_limits *l, int want_status,
                                  size_t detect_at)
{
	static struct detour_request req;
	detour_err want = err_of(want_status), e;
	int st = -1;
	size_t first = len;

	e = parse_guarded(in, len, l, &req, &st);
	CHECK(e == want && st == want_status, name, "got err %d status %d, want %d", e, st,
	      want_status);
	for (size_t k = 0; k < len; k++) {
		e = parse_guarded(in, k, l, &req, &st);
		if (first == len && e == DETOUR_INCOMPLETE)
			continue;
		if (first == len)
			first = k;
		CHECK(e == want && st == want_status, name, "prefix %zu: err %d status %d", k, e,
		      st);
	}
	if (want_status == 0)
		CHECK(first == len, name, "a prefix of %zu bytes already parsed", first);
	if (detect_at)
		CHECK(first == detect_at, name, "detected at %zu, want %zu", first, detect_at);
}

#define H11 "GET / HTTP/1.1\r\nHost: h\r\n"
#define P11 "POST / HTTP/1.1\r\nHost: h\r\n"

static inline bool slice_is(const char *p, size_t n, const char *want)
{
	if (want == NULL)
		return p == NULL && n == 0;
	return p != NULL && n == strlen(want) && memcmp(p, want, n) == 0;
}

static inline void fill(char *p, char c, size_t n)
{
	memset(p, c, n);
}

#endif
