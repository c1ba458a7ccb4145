/* libFuzzer target for lib/http1.c. The input is the bytes a client sent.
 *
 * Head: parsed with small limits (so that 414, 431 and 413 are reachable)
 * and with the defaults. Asserted: the status matches the error; a refused
 * input is refused (or incomplete) at every prefix; an accepted head gives
 * the same answer on buf[0..head_len) and is incomplete on shorter
 * prefixes; every pointer lies inside the head, path and query inside the
 * target, no value holds CR, LF or NUL, values carry no edge OWS.
 * Body: the bytes after an accepted head, and the whole input read as a
 * chunked body, are skipped whole, one byte at a time and in two pieces;
 * all three must agree on the result, the status, the bytes eaten and the
 * body total. */
#include "fuzz.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detour/http1.h"
#include "detour/http1_body.h"

#define ASSERT(c)                                                                                  \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

static bool inside(const char *p, size_t n, const char *base, size_t len)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)base;
	return p != NULL && a >= b && n <= len && a - b <= len - n;
}

static void check_status(detour_err e, int st)
{
	switch (e) {
	case DETOUR_OK:
	case DETOUR_INCOMPLETE:
		ASSERT(st == 0);
		break;
	case DETOUR_EINVAL:
		ASSERT(st == 400);
		break;
	case DETOUR_ETOOBIG:
		ASSERT(st == 413 || st == 414 || st == 431);
		break;
	case DETOUR_EUNSUPPORTED:
		ASSERT(st == 501 || st == 505);
		break;
	default:
		abort();
	}
}

static void check_request(const struct detour_request *r, const char *buf, size_t size,
                          const struct detour_http1_limits *l)
{
	const char *head = buf;
	size_t hl = r->head_len;

	ASSERT(hl > 0 && hl <= size && hl <= l->max_header_bytes);
	ASSERT(buf[hl - 1] == '\n' && buf[hl - 2] == '\r' && buf[hl - 3] == '\n');
	ASSERT(r->method_len > 0 && inside(r->method, r->method_len, head, hl));
	ASSERT(r->target_len > 0 && r->target_len <= l->max_target);
	ASSERT(inside(r->target, r->target_len, head, hl));
	ASSERT(r->target == r->method + r->method_len + 1);
	ASSERT(inside(r->path, r->path_len, r->target, r->target_len));
	if (r->query) {
		ASSERT(inside(r->query, r->query_len, r->target, r->target_len));
		ASSERT(r->query[-1] == '?');
		ASSERT(r->query + r->query_len == r->target + r->target_len);
	} else {
		ASSERT(r->query_len == 0);
	}
	for (size_t i = 0; i < r->target_len; i++)
		ASSERT(r->target[i] > 0x20 && r->target[i] < 0x7F);
	if (r->host)
		ASSERT(r->host_len > 0 && inside(r->host, r->host_len, head, hl));
	else
		ASSERT(r->minor_version == 0 && r->host_len == 0);
	if (r->absolute_form)
		ASSERT(inside(r->host, r->host_len, r->target, r->target_len));
	ASSERT(!(r->absolute_form && r->asterisk_form));
	ASSERT(!r->https_target || r->absolute_form);
	ASSERT(!r->asterisk_form || (r->method_id == DETOUR_M_OPTIONS && r->target_len == 1));
	ASSERT(r->minor_version == 0 || r->minor_version == 1);
	ASSERT(!(r->chunked && r->has_content_length));
	ASSERT(!r->chunked || r->minor_version == 1);
	ASSERT(r->has_content_length || r->content_length == 0);
	ASSERT(r->num_headers <= l->max_headers && r->num_headers <= DETOUR_HTTP1_MAX_HEADERS_HARD);
	for (unsigned i = 0; i < r->num_headers; i++) {
		const struct detour_header *h = &r->headers[i];
		ASSERT(h->name_len > 0 && inside(h->name, h->name_len, head, hl));
		ASSERT(h->name[h->name_len] == ':');
		ASSERT(inside(h->value, h->value_len, head, hl) || h->value_len == 0);
		ASSERT(h->value > h->name);
		for (size_t k = 0; k < h->value_len; k++)
			ASSERT(h->value[k] != '\r' && h->value[k] != '\n' && h->value[k] != '\0');
		if (h->value_len) {
			char a = h->value[0], z = h->value[h->value_len - 1];
			ASSERT(a != ' ' && a != '\t' && z != ' ' && z != '\t');
		}
		ASSERT(detour_http1_find(r, h->name, h->name_len, 0) <= (int)i);
	}
}

struct skip_result {
	detour_err e;
	int st;
	size_t consumed;
	uint64_t total;
	bool done;
};

/* Skips buf[0..len) cut at the given points (pieces fed in order; a piece
 * is fed only while the result is incomplete). */
static struct skip_result skip(const struct detour_request *r, const struct detour_http1_limits *l,
                               const char *buf, size_t len, size_t step, size_t cut)
{
	struct detour_http1_body b;
	struct skip_result res = {DETOUR_INCOMPLETE, 0, 0, 0, false};
	size_t at = 0;

	detour_http1_body_init(&b, r, l);
	if (len == 0) {
		size_t got = 1;
		res.e = detour_http1_body_skip(&b, buf, 0, &got, &res.st);
		ASSERT(got == 0);
	}
	while (at < len && res.e == DETOUR_INCOMPLETE) {
		size_t n = step ? step : cut > at ? cut - at : len - at, got = (size_t)-1;
		if (n > len - at)
			n = len - at;
		res.e = detour_http1_body_skip(&b, buf + at, n, &got, &res.st);
		check_status(res.e == DETOUR_OK || res.e == DETOUR_INCOMPLETE ? DETOUR_OK : res.e,
		             res.st);
		ASSERT(res.e != DETOUR_EUNSUPPORTED && res.st != 414 && res.st != 431);
		ASSERT(got <= n);
		ASSERT(res.e != DETOUR_INCOMPLETE || got == n);
		at += got;
	}
	res.consumed = at;
	res.total = b.total;
	res.done = detour_http1_body_done(&b);
	ASSERT(res.done == (res.e == DETOUR_OK));
	ASSERT(b.total <= b.max_body);
	ASSERT(b.total == at); /* every body byte counts, framing included */
	return res;
}

static void check_body(const struct detour_request *r, const struct detour_http1_limits *l,
                       const char *buf, size_t len)
{
	struct skip_result whole = skip(r, l, buf, len, 0, len);
	struct skip_result bytes = skip(r, l, buf, len, 1, 0);
	struct skip_result halves = skip(r, l, buf, len, 0, len / 2);

	ASSERT(whole.e == bytes.e && whole.st == bytes.st && whole.consumed == bytes.consumed &&
	       whole.total == bytes.total);
	ASSERT(whole.e == halves.e && whole.st == halves.st && whole.consumed == halves.consumed &&
	       whole.total == halves.total);
	if (r->has_content_length && whole.e == DETOUR_OK)
		ASSERT(whole.consumed == r->content_length && whole.total == r->content_length);
	if (r->has_content_length && whole.e == DETOUR_INCOMPLETE)
		ASSERT(whole.consumed == len && whole.total == len);
	if (!r->chunked && !r->has_content_length)
		ASSERT(whole.e == DETOUR_OK && whole.consumed == 0);
	if (r->chunked && whole.e == DETOUR_OK)
		ASSERT(whole.consumed >= 5 && buf[whole.consumed - 1] == '\n' &&
		       buf[whole.consumed - 2] == '\r');
}

static void check_head(const char *buf, size_t size, const struct detour_http1_limits *l)
{
	static struct detour_request req, again;
	int st = -1, st2 = -1;
	detour_err e = detour_http1_parse(buf, size, l, &req, &st), e2;

	check_status(e, st);
	if (e == DETOUR_OK || st == 413) {
		check_request(&req, buf, size, l);
		if (st == 413)
			ASSERT(req.content_length > l->max_body);
		/* the head alone gives the same answer */
		e2 = detour_http1_parse(buf, req.head_len, l, &again, &st2);
		ASSERT(e2 == e && st2 == st && again.head_len == req.head_len);
		/* and any shorter prefix is incomplete */
		size_t cuts[3] = {req.head_len - 1, req.head_len / 2, req.head_len / 3};
		for (int i = 0; i < 3; i++) {
			e2 = detour_http1_parse(buf, cuts[i], l, &again, &st2);
			ASSERT(e2 == DETOUR_INCOMPLETE && st2 == 0);
		}
	} else if (e != DETOUR_INCOMPLETE) {
		/* a refusal is incomplete or the same refusal at every prefix */
		size_t cuts[4] = {size - 1, size / 2, size / 3, size * 3 / 4};
		for (int i = 0; i < 4; i++) {
			e2 = detour_http1_parse(buf, cuts[i], l, &again, &st2);
			ASSERT(e2 == DETOUR_INCOMPLETE || (e2 == e && st2 == st));
		}
	}
	if (e == DETOUR_OK)
		check_body(&req, l, buf + req.head_len, size - req.head_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct detour_http1_limits small = {
	        .max_target = 64, .max_header_bytes = 512, .max_headers = 8, .max_body = 4096};
	struct detour_http1_limits defl;
	const char *buf = (const char *)data;
	/* libFuzzer's buffer ends at size: reads past it are caught by ASan. */

	detour_http1_limits_default(&defl);
	check_head(buf, size, &small);
	check_head(buf, size, &defl);

	/* The whole input as a chunked body. */
	struct detour_request chunked = {.chunked = true, .minor_version = 1};
	check_body(&chunked, &small, buf, size);
	return 0;
}
