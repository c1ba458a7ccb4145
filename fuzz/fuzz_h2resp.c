/* libFuzzer target for the library side of HTTP/2 (docs/internals/h2.md).
 * The first byte picks the parser:
 *  - even: lib/h2resp.c detour_h2_response over a copy of the rest. On 0:
 *    the status is 100-999 and its digits are in the buffer; every field
 *    lies inside it, its name is non-empty, lower case, not
 *    connection-specific, its value without leading or trailing blanks;
 *    the body is the buffer's tail.
 *  - odd: lib/http1.c detour_http1_from_h2, the rest cut at NUL bytes into
 *    :method, :path, :authority (an empty piece: absent) and name/value
 *    pairs. On DETOUR_OK: http2 and minor_version 1, path and query inside
 *    the target, host the authority or a field's value; on an error a
 *    status of 400, 413 or 414. */
#include "fuzz.h"
#include <stdbool.h>
#include <string.h>

#include "detour/h2resp.h"
#include "detour/http1.h"

static bool inside(const char *p, size_t n, const char *b, size_t len)
{
	return p >= b && n <= len && (size_t)(p - b) <= len - n;
}

static void response(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	struct detour_h2_resp r;

	memcpy(buf, data, size);
	if (detour_h2_response(buf, size, &r) == 0) {
		CHECK(r.status >= 100 && r.status <= 999);
		CHECK(inside(r.status_digits, 3, buf, size));
		CHECK(r.nf <= DETOUR_H2_FIELDS_MAX);
		for (unsigned i = 0; i < r.nf; i++) {
			const struct detour_h2_field *f = &r.f[i];
			CHECK(f->name_len > 0 && inside(f->name, f->name_len, buf, size));
			CHECK(inside(f->value, f->value_len, buf, size));
			for (size_t j = 0; j < f->name_len; j++)
				CHECK(!(f->name[j] >= 'A' && f->name[j] <= 'Z'));
			CHECK(!(f->name_len == 10 && !memcmp(f->name, "connection", 10)));
			if (f->value_len)
				CHECK(f->value[0] != ' ' && f->value[f->value_len - 1] != ' ');
		}
		CHECK(inside(r.body, r.body_len, buf, size) && r.body + r.body_len == buf + size);
	}
	free(buf);
}

static struct detour_request req;

static void request(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	const char *piece[3] = {NULL, NULL, NULL};
	size_t len[3] = {0, 0, 0};
	struct detour_http1_limits lim;
	int status;

	detour_http1_limits_default(&lim);
	lim.max_target = 64;
	lim.max_body = 1000;
	for (int i = 0; i < 3 && p < end; i++) {
		const char *z = memchr(p, 0, (size_t)(end - p));
		size_t n = z ? (size_t)(z - p) : (size_t)(end - p);
		if (n) {
			piece[i] = p;
			len[i] = n;
		}
		p += n + (z != NULL);
	}
	req.num_headers = 0;
	while (p < end && req.num_headers < 16) {
		const char *z = memchr(p, 0, (size_t)(end - p)), *v;
		size_t n = z ? (size_t)(z - p) : (size_t)(end - p);
		struct detour_header *h = &req.headers[req.num_headers++];
		h->name = p;
		h->name_len = n;
		p += n + (z != NULL);
		z = memchr(p, 0, (size_t)(end - p));
		v = p;
		n = z ? (size_t)(z - p) : (size_t)(end - p);
		h->value = v;
		h->value_len = n;
		p += n + (z != NULL);
	}
	struct detour_h2_pseudo ps = {piece[0], piece[1], piece[2], len[0], len[1], len[2]};
	detour_err e = detour_http1_from_h2(&req, &ps, &lim, &status);
	if (e != DETOUR_OK) {
		CHECK(status == 400 || status == 413 || status == 414);
		return;
	}
	CHECK(req.http2 && req.minor_version == 1 && !req.chunked);
	CHECK(req.method == piece[0] && req.method_len == len[0]);
	if (req.method_id == DETOUR_M_CONNECT)
		return;
	CHECK(req.target == piece[1] && req.target_len == len[1] && len[1] <= lim.max_target);
	CHECK(inside(req.path, req.path_len, req.target, req.target_len));
	if (req.query)
		CHECK(inside(req.query, req.query_len, req.target, req.target_len));
	if (req.host && req.host != piece[2]) {
		bool found = false;
		for (unsigned i = 0; i < req.num_headers; i++)
			found = found || req.host == req.headers[i].value;
		CHECK(found);
	}
	CHECK(!req.has_content_length || req.content_length <= lim.max_body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] % 2 == 0)
		response(data + 1, size - 1);
	else
		request(data + 1, size - 1);
	return 0;
}
