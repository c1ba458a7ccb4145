/* detour server: HTTP/2 on a connection, see h2.h and docs/internals/h2.md.
 *
 * One nghttp2 server session per connection, driven only through
 * nghttp2_session_mem_recv / nghttp2_session_mem_send: conn.c owns the
 * socket, the TLS transport, the buffers and the deadlines. A request
 * stream is answered as soon as its header block is whole (as HTTP/1.1
 * answers as soon as the head is whole): its fields become a struct
 * detour_request (lib/http1.c detour_http1_from_h2), request.c routes it and
 * renders the HTTP/1.1 response into a scratch buffer of the session's
 * (request_answer into a struct req_out, as conn.c does into c->out), the
 * response is split
 * into HTTP/2 fields (lib/h2resp.c) and submitted without copying its bytes
 * (NGHTTP2_NV_FLAG_NO_COPY_*: they live in the stream until it closes).
 * Request bodies are consumed and dropped: nghttp2 returns their flow
 * control window as they arrive. */
#include <nghttp2/nghttp2.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "detour/h2resp.h"
#include "h2.h"
#include "request.h"
#include "stats.h"
#include "tls.h"

/* RFC 9113 §6.5.2, and what we enforce beyond it. */
#define H2_MAX_STREAMS    100  /* SETTINGS_MAX_CONCURRENT_STREAMS */
#define H2_TABLE_SIZE     4096 /* SETTINGS_HEADER_TABLE_SIZE, and our encoder's table */
#define H2_MAX_CONTINUED  16   /* CONTINUATION frames after one HEADERS (2024 floods) */
#define H2_RST_BURST      200  /* client RST_STREAMs per window (CVE-2023-44487) */
#define H2_RST_WINDOW_MS  1000
#define H2_OUT_SOFT       (1u << 20) /* stop taking frames past this much queued output */
#define H2_RBUF_INITIAL   4096
#define H2_STREAM_INLINE  1024        /* a typical redirect's response fits in the stream itself */
#define H2_STREAMS_CACHED 16          /* stream structs kept for reuse per connection */
#define H2_WINDOW_MAX     (16u << 20) /* our receive windows: `limit body`, at most this */

/* A response in flight: the HTTP/1.1 bytes request.c rendered, whose fields
 * the HEADERS frame points at, and the body still to send as DATA. */
struct h2_stream {
	struct h2_stream *next, *prev; /* h2.live (answered, not closed), or the free list */
	char *buf;                     /* inl, or malloc'ed for a bigger response */
	uint32_t big;                  /* bytes malloc'ed at buf, counted by budget.h; 0: inl */
	const char *body;
	size_t body_left;
	uint64_t received; /* request body bytes, against `limit body` */
	char inl[H2_STREAM_INLINE];
};

/* nghttp2 allocates per stream and per frame (the stream, the queued
 * item, the copied field array, decoded fields): about twenty blocks a
 * request, a fifth of the time spent with glibc's malloc. Each session gets
 * size-class free lists of its own instead (nghttp2_mem): blocks of 32 to
 * 4096 bytes are reused without locking or searching (a session only runs
 * on its worker), bigger ones go to malloc; all of it is given back when
 * the session ends. */
#define POOL_CLASSES 8 /* 32 << k bytes, header included */
#define POOL_BIG     0xff

union pool_hdr {
	max_align_t align;
	uint8_t cls; /* k, or POOL_BIG */
};

struct pool {
	union pool_hdr *free[POOL_CLASSES];
};

struct h2 {
	nghttp2_session *s;
	struct pool pool;
	nghttp2_mem mem;
	struct conn *c;
	struct h2_stream *free;
	unsigned nfree;
	/* nghttp2_session_del does not close its streams through the
	 * callback: those still open are freed from this list. */
	struct h2_stream live;
	unsigned nstreams; /* answered streams not yet closed */
	/* The header block being received (one at a time, RFC 9113 §4.3). */
	int32_t hb_stream;     /* 0: none */
	size_t hb_list;        /* header list size so far (§6.5.2: name + value + 32) */
	uint32_t hb_wire;      /* bytes of HEADERS and CONTINUATION payloads */
	unsigned hb_continued; /* CONTINUATION frames */
	bool hb_too_big;       /* over `limit header-bytes` or `limit headers`: 431 */
	struct detour_h2_pseudo ps;
	struct detour_header *hdr; /* cs->limits.max_headers of them */
	unsigned nhdr;
	nghttp2_rcbuf **rc; /* the fields' buffers, held until the answer */
	unsigned nrc, rc_cap;
	/* Rapid reset: client RST_STREAMs in the current window. */
	uint64_t rst_window_ms;
	unsigned rst_count;
	/* Our SETTINGS must be acknowledged in time (RFC 9113 §6.5.3). */
	bool settings_acked;
	uint64_t settings_deadline_ms;
	bool goaway;     /* GOAWAY queued: the client opens no new stream */
	bool terminated; /* ... at once: nothing more is answered */
	/* Where request.c renders a stream's answer (render): its first
	 * H2_RBUF_INITIAL bytes are the session's; a growth is counted by
	 * budget.h for the connection and given back after the answer. */
	char *rbuf;
	uint32_t rbuf_cap, rlen;
	bool rclose;         /* HTTP/1.1's Connection: close: not ours, ignored */
	struct req_out resp; /* &rbuf, &rbuf_cap, &rlen, &rclose */
};

static nghttp2_session_callbacks *callbacks;
static nghttp2_option *options;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* ---- the session's memory ---- */

static void *pool_malloc(size_t size, void *ud)
{
	struct pool *p = &((struct h2 *)ud)->pool;
	size_t n = size + sizeof(union pool_hdr);
	unsigned k = n <= 32 ? 0 : 64 - (unsigned)__builtin_clzll(n - 1) - 5;
	union pool_hdr *b;

	if (k >= POOL_CLASSES) {
		b = malloc(n);
		if (b == NULL)
			return NULL;
		b->cls = POOL_BIG;
		return b + 1;
	}
	b = p->free[k];
	if (b != NULL) {
		p->free[k] = *(union pool_hdr **)(b + 1);
	} else {
		b = malloc((size_t)32 << k);
		if (b == NULL)
			return NULL;
		b->cls = (uint8_t)k;
	}
	return b + 1;
}

static void pool_free(void *ptr, void *ud)
{
	struct pool *p = &((struct h2 *)ud)->pool;
	union pool_hdr *b;

	if (ptr == NULL)
		return;
	b = (union pool_hdr *)ptr - 1;
	if (b->cls == POOL_BIG) {
		free(b);
		return;
	}
	*(union pool_hdr **)ptr = p->free[b->cls];
	p->free[b->cls] = b;
}

static void *pool_calloc(size_t nmemb, size_t size, void *ud)
{
	void *ptr;

	if (size && nmemb > SIZE_MAX / size)
		return NULL;
	ptr = pool_malloc(nmemb * size, ud);
	if (ptr)
		memset(ptr, 0, nmemb * size);
	return ptr;
}

static void *pool_realloc(void *ptr, size_t size, void *ud)
{
	union pool_hdr *b;
	size_t have;
	void *q;

	if (ptr == NULL)
		return pool_malloc(size, ud);
	b = (union pool_hdr *)ptr - 1;
	if (b->cls == POOL_BIG) {
		b = realloc(b, size + sizeof(*b));
		return b ? b + 1 : NULL;
	}
	have = ((size_t)32 << b->cls) - sizeof(*b);
	if (size <= have)
		return ptr;
	q = pool_malloc(size, ud);
	if (q) {
		memcpy(q, ptr, have);
		pool_free(ptr, ud);
	}
	return q;
}

static void pool_release(struct pool *p)
{
	for (unsigned k = 0; k < POOL_CLASSES; k++)
		while (p->free[k] != NULL) {
			union pool_hdr *b = p->free[k];
			p->free[k] = *(union pool_hdr **)(b + 1);
			free(b);
		}
}

/* ---- streams ---- */

static struct h2_stream *stream_new(struct h2 *h, size_t len)
{
	struct h2_stream *st = h->free;

	if (st != NULL) {
		h->free = st->next;
		h->nfree--;
	} else if ((st = malloc(sizeof(*st))) == NULL) {
		return NULL;
	}
	st->big = 0;
	st->buf = st->inl;
	if (len > sizeof(st->inl)) {
		/* Counted against `limit buffer-memory` like the connection's
		 * own buffers: a client can hold 100 streams of oversized
		 * answers. */
		if (!budget_take(h->c, (uint32_t)len)) {
			free(st);
			return NULL;
		}
		st->buf = malloc(len);
		if (st->buf == NULL) {
			budget_give(h->c, (uint32_t)len);
			free(st);
			return NULL;
		}
		st->big = (uint32_t)len;
	}
	st->received = 0;
	st->next = h->live.next;
	st->prev = &h->live;
	st->next->prev = st;
	h->live.next = st;
	h->nstreams++;
	return st;
}

static void stream_free(struct h2 *h, struct h2_stream *st)
{
	if (st->big) {
		free(st->buf);
		budget_give(h->c, st->big);
	}
	st->prev->next = st->next;
	st->next->prev = st->prev;
	h->nstreams--;
	if (h->nfree < H2_STREAMS_CACHED) {
		st->next = h->free;
		h->free = st;
		h->nfree++;
	} else {
		free(st);
	}
}

static ssize_t body_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *ud)
{
	struct h2_stream *st = src->ptr;
	size_t n = len < st->body_left ? len : st->body_left;

	memcpy(buf, st->body, n);
	st->body += n;
	st->body_left -= n;
	if (st->body_left == 0)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

/* ---- the header block ---- */

static void block_release(struct h2 *h)
{
	for (unsigned i = 0; i < h->nrc; i++)
		nghttp2_rcbuf_decref(h->rc[i]);
	h->nrc = 0;
	h->nhdr = 0;
	h->hb_stream = 0;
	h->hb_list = 0;
	h->hb_too_big = false;
	h->ps = (struct detour_h2_pseudo){0};
}

static bool hold(struct h2 *h, nghttp2_rcbuf *rc)
{
	if (h->nrc == h->rc_cap) {
		unsigned cap = h->rc_cap ? 2 * h->rc_cap : 16;
		nghttp2_rcbuf **p = realloc(h->rc, cap * sizeof(*p));
		if (p == NULL)
			return false;
		h->rc = p;
		h->rc_cap = cap;
	}
	nghttp2_rcbuf_incref(rc);
	h->rc[h->nrc++] = rc;
	return true;
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct h2 *h = ud;

	block_release(h);
	if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST)
		h->hb_stream = f->hd.stream_id;
	return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, nghttp2_rcbuf *name,
                     nghttp2_rcbuf *value, uint8_t flags, void *ud)
{
	struct h2 *h = ud;
	const struct detour_http1_limits *lim = &h->c->cs->limits;
	nghttp2_vec n = nghttp2_rcbuf_get_buf(name), v = nghttp2_rcbuf_get_buf(value);

	if (f->hd.stream_id != h->hb_stream || h->hb_too_big)
		return 0; /* trailers, or already refused: ignored */
	h->hb_list += n.len + v.len + 32;
	if (h->hb_list > lim->max_header_bytes) {
		h->hb_too_big = true; /* answered 431 at the end of the block */
		return 0;
	}
	if (!hold(h, name) || !hold(h, value))
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM */
	if (n.len > 0 && n.base[0] == ':') {
		/* nghttp2 checked the pseudo-header fields (§8.3): known,
		 * once each, before the others. */
		const char *val = (const char *)v.base;
		if (n.len == 7 && !memcmp(n.base, ":method", 7)) {
			h->ps.method = val;
			h->ps.method_len = v.len;
		} else if (n.len == 5 && !memcmp(n.base, ":path", 5)) {
			h->ps.path = val;
			h->ps.path_len = v.len;
		} else if (n.len == 10 && !memcmp(n.base, ":authority", 10)) {
			h->ps.authority = val;
			h->ps.authority_len = v.len;
		}
		return 0;
	}
	if (h->nhdr == lim->max_headers) {
		h->hb_too_big = true;
		return 0;
	}
	h->hdr[h->nhdr++] =
	        (struct detour_header){(const char *)n.base, n.len, (const char *)v.base, v.len};
	return 0;
}

/* ---- answering a stream ---- */

/* Renders the answer to the request whose header block just ended into
 * h->rbuf, with request.c, as for HTTP/1.1 (its Connection: close is not
 * ours: h->rclose is ignored). A growth of h->rbuf (an oversized answer) is
 * counted for the connection by budget.h like c->out's. Returns its length,
 * 0 if none. */
static uint32_t render(struct h2 *h)
{
	struct conn *c = h->c;
	struct conns *cs = c->cs;
	struct detour_request *req = &cs->req;
	detour_err e;
	int status;

	h->rlen = 0;

	memcpy(req->headers, h->hdr, h->nhdr * sizeof(h->hdr[0]));
	req->num_headers = h->nhdr;
	req->method = NULL;
	if (h->hb_too_big) {
		request_fail(c, 431, NULL, false, &h->resp); /* RFC 6585 §5 */
	} else if ((e = detour_http1_from_h2(req, &h->ps, &cs->limits, &status)) != DETOUR_OK) {
		const struct detour_request *r = status == 413 ? req : NULL;
		request_fail(c, status, r, r && r->method_id == DETOUR_M_HEAD, &h->resp);
	} else if (!request_answer(c, req, &h->resp)) {
		/* Only a response bigger than the scratch buffer: request.c
		 * grows it when it is empty, which it is. */
		request_fail(c, 500, req, req->method_id == DETOUR_M_HEAD, &h->resp);
	}
	stats_add64(&cs->st->h2_requests, 1);
	return h->rlen;
}

static void calm_down(struct h2 *h);

static void answer(struct h2 *h, int32_t id)
{
	uint32_t len = render(h);
	struct detour_h2_resp r;
	nghttp2_nv nv[DETOUR_H2_FIELDS_MAX + 1];
	nghttp2_data_provider prd;
	struct h2_stream *st;
	const uint8_t fl = NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE;

	block_release(h);
	st = len > 0 ? stream_new(h, len) : NULL;
	if (st != NULL)
		memcpy(st->buf, h->rbuf, len);
	/* After a big answer (a maintenance page): give the growth back. */
	budget_shrink(h->c, &h->rbuf, &h->rbuf_cap, H2_RBUF_INITIAL);
	if (st == NULL) {
		nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, id, NGHTTP2_INTERNAL_ERROR);
		/* Past the hard memory cap and the heaviest (budget.h, logged as
		 * closing): the connection ends, as an HTTP/1.1 one would. */
		if (len > H2_STREAM_INLINE)
			calm_down(h);
		return;
	}
	if (detour_h2_response(st->buf, len, &r) < 0) {
		stream_free(h, st);
		nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, id, NGHTTP2_INTERNAL_ERROR);
		return;
	}
	nv[0] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)r.status_digits, 7, 3, fl};
	for (unsigned i = 0; i < r.nf; i++)
		nv[i + 1] = (nghttp2_nv){(uint8_t *)r.f[i].name, (uint8_t *)r.f[i].value,
		                         r.f[i].name_len, r.f[i].value_len, fl};
	st->body = r.body;
	st->body_left = r.body_len;
	prd.source.ptr = st;
	prd.read_callback = body_read;
	if (nghttp2_submit_response(h->s, id, nv, r.nf + 1, r.body_len ? &prd : NULL) != 0) {
		stream_free(h, st);
		nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, id, NGHTTP2_INTERNAL_ERROR);
		return;
	}
	nghttp2_session_set_stream_user_data(h->s, id, st);
}

/* ---- frames ---- */

/* Over a cap: GOAWAY ENHANCE_YOUR_CALM, and nothing more is read. */
static void calm_down(struct h2 *h)
{
	if (!h->terminated) {
		nghttp2_session_terminate_session(h->s, NGHTTP2_ENHANCE_YOUR_CALM);
		h->goaway = h->terminated = true;
	}
}

static int on_begin_frame(nghttp2_session *s, const nghttp2_frame_hd *hd, void *ud)
{
	struct h2 *h = ud;
	struct conns *cs = h->c->cs;

	switch (hd->type) {
	case NGHTTP2_HEADERS:
		h->hb_wire = (uint32_t)hd->length;
		h->hb_continued = 0;
		break;
	case NGHTTP2_CONTINUATION:
		/* The 2024 CONTINUATION floods: a header block that never ends
		 * (or ends beyond any list we would accept) is cut off here,
		 * before it is decoded, with GOAWAY. Compressed, a block is at
		 * least about 5/8 of its list's size: twice the limit is more
		 * than any acceptable list. */
		h->hb_wire += (uint32_t)hd->length;
		if (++h->hb_continued > H2_MAX_CONTINUED ||
		    h->hb_wire > 2 * cs->limits.max_header_bytes)
			calm_down(h);
		break;
	case NGHTTP2_RST_STREAM:
		/* CVE-2023-44487 (rapid reset): streams opened and reset at
		 * once cost us work and do not count against the concurrent
		 * stream limit. Cap them per window. */
		if (cs->now_ms - h->rst_window_ms >= H2_RST_WINDOW_MS) {
			h->rst_window_ms = cs->now_ms;
			h->rst_count = 0;
		}
		if (++h->rst_count > H2_RST_BURST)
			calm_down(h);
		break;
	}
	return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct h2 *h = ud;

	switch (f->hd.type) {
	case NGHTTP2_HEADERS:
		if (f->headers.cat == NGHTTP2_HCAT_REQUEST && f->hd.stream_id == h->hb_stream &&
		    !h->terminated)
			answer(h, f->hd.stream_id);
		else
			block_release(h);
		break;
	case NGHTTP2_SETTINGS:
		if (f->hd.flags & NGHTTP2_FLAG_ACK)
			h->settings_acked = true;
		break;
	}
	return 0;
}

/* Request bodies: dropped as they come; nghttp2 gives the window back
 * (automatic WINDOW_UPDATE). One over `limit body` is cut off: the answer
 * is out, so RST_STREAM NO_ERROR (RFC 9113 §8.1) asks the client to stop. */
static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *ud)
{
	struct h2 *h = ud;
	struct h2_stream *st = nghttp2_session_get_stream_user_data(s, id);

	if (st != NULL && st->received <= h->c->cs->limits.max_body) {
		st->received += len;
		if (st->received > h->c->cs->limits.max_body)
			nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR);
	}
	return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t error, void *ud)
{
	struct h2 *h = ud;
	struct h2_stream *st = nghttp2_session_get_stream_user_data(s, id);

	if (id == h->hb_stream)
		block_release(h);
	if (st != NULL) {
		nghttp2_session_set_stream_user_data(s, id, NULL);
		stream_free(h, st);
	}
	return 0;
}

static void init_once(void)
{
	nghttp2_session_callbacks *cb;
	nghttp2_option *opt;

	if (nghttp2_session_callbacks_new(&cb) != 0 || nghttp2_option_new(&opt) != 0)
		return;
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback2(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	nghttp2_session_callbacks_set_on_begin_frame_callback(cb, on_begin_frame);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	/* Closed streams are not kept for a priority tree (we send
	 * SETTINGS_NO_RFC7540_PRIORITIES). */
	nghttp2_option_set_no_closed_streams(opt, 1);
	nghttp2_option_set_max_deflate_dynamic_table_size(opt, H2_TABLE_SIZE);
	/* nghttp2's own caps stay as a backstop behind ours, which answer
	 * first, with ENHANCE_YOUR_CALM (on_begin_frame). */
	nghttp2_option_set_stream_reset_rate_limit(opt, 4 * H2_RST_BURST, 2 * H2_RST_BURST);
	nghttp2_option_set_max_continuations(opt, 4 * H2_MAX_CONTINUED);
	callbacks = cb;
	options = opt;
}

/* ---- the connection ---- */

int h2_start(struct conn *c)
{
	struct conns *cs = c->cs;
	struct h2 *h;
	/* A request body up to `limit body` flows without waiting for a
	 * WINDOW_UPDATE (it is dropped as it comes): the answer goes out at the
	 * end of the head, and some clients (curl 7.88 following a 307) stop
	 * reading while they send the rest of the body. */
	uint64_t mb = cs->limits.max_body;
	uint32_t window = mb < NGHTTP2_INITIAL_WINDOW_SIZE ? NGHTTP2_INITIAL_WINDOW_SIZE
	                  : mb > H2_WINDOW_MAX             ? H2_WINDOW_MAX
	                                                   : (uint32_t)mb;
	nghttp2_settings_entry iv[] = {
	        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_MAX_STREAMS},
	        {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, H2_TABLE_SIZE},
	        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)cs->limits.max_header_bytes},
	        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
	        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, window},
	        {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
	};

	if (c->tls) {
		if (!tls_conn_h2(c->tls))
			return 0;
	} else {
		size_t n = c->in_len < H2_PREFACE_LEN ? c->in_len : H2_PREFACE_LEN;
		if (!cs->http2 || memcmp(c->in, H2_PREFACE, n))
			return 0;
		if (n < H2_PREFACE_LEN)
			return -1;
	}
	pthread_once(&once, init_once);
	h = calloc(1, sizeof(*h));
	if (h == NULL || callbacks == NULL)
		goto fail;
	h->c = c;
	h->mem = (nghttp2_mem){h, pool_malloc, pool_free, pool_calloc, pool_realloc};
	h->live.next = h->live.prev = &h->live;
	h->hdr = malloc(cs->limits.max_headers * sizeof(*h->hdr));
	h->rbuf = malloc(H2_RBUF_INITIAL);
	h->rbuf_cap = H2_RBUF_INITIAL;
	h->resp = (struct req_out){&h->rbuf, &h->rbuf_cap, &h->rlen, &h->rclose};
	if (h->hdr == NULL || h->rbuf == NULL ||
	    nghttp2_session_server_new3(&h->s, callbacks, h, options, &h->mem) != 0)
		goto fail;
	if (nghttp2_submit_settings(h->s, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0])) ||
	    nghttp2_session_set_local_window_size(h->s, NGHTTP2_FLAG_NONE, 0, (int32_t)window))
		goto fail;
	h->settings_deadline_ms = cs->now_ms + cs->timeouts_ms[LIST_ACTIVE];
	c->h2 = h;
	return 1;
fail:
	if (h) {
		if (h->s)
			nghttp2_session_del(h->s);
		pool_release(&h->pool);
		free(h->hdr);
		free(h->rbuf);
		free(h);
	}
	/* Out of memory: the preface is then answered as HTTP/1.1 would (400). */
	return 0;
}

void h2_free(struct conn *c)
{
	struct h2 *h = c->h2;
	struct h2_stream *st;

	if (h == NULL)
		return;
	block_release(h);
	nghttp2_session_del(h->s);
	while (h->live.next != &h->live)
		stream_free(h, h->live.next);
	while ((st = h->free) != NULL) {
		h->free = st->next;
		free(st);
	}
	pool_release(&h->pool);
	free(h->rc);
	free(h->hdr);
	if (h->rbuf_cap > H2_RBUF_INITIAL) /* a shrink that failed */
		budget_give(c, h->rbuf_cap - H2_RBUF_INITIAL);
	free(h->rbuf);
	free(h);
	c->h2 = NULL;
}

/* Appends to c->out what the session has to send, growing the buffer.
 * Returns false on a fatal session error. */
static bool send_frames(struct conn *c, bool *queued)
{
	struct h2 *h = c->h2;

	while (c->out_len < H2_OUT_SOFT) {
		const uint8_t *d;
		ssize_t n = nghttp2_session_mem_send(h->s, &d);
		if (n < 0)
			return false;
		if (n == 0)
			break;
		if (c->out_cap - c->out_len < (size_t)n) {
			uint32_t cap = 2 * c->out_cap;
			while (cap - c->out_len < (size_t)n)
				cap *= 2;
			/* Counted against the worker's buffer budget (budget.h):
			 * refused, the connection is closed like an HTTP/1.1 one. */
			if (!budget_grow(c, &c->out, &c->out_cap, cap))
				return false;
		}
		memcpy(c->out + c->out_len, d, (size_t)n);
		c->out_len += (uint32_t)n;
		*queued = true;
	}
	return true;
}

/* After the session's input and output: over when neither side has more
 * (GOAWAY exchanged and the streams done, or terminated). */
static void check_over(struct conn *c)
{
	struct h2 *h = c->h2;

	if (!nghttp2_session_want_read(h->s) && !nghttp2_session_want_write(h->s))
		c->close_after = true;
}

bool h2_process(struct conn *c)
{
	struct h2 *h = c->h2;
	struct conns *cs = c->cs;
	bool progress = false;

	/* Paused over the memory budget (budget.h): no new frame is taken
	 * (c->in keeps them) until the output has drained. */
	if (c->in_len > 0 && !c->paused) {
		ssize_t n = nghttp2_session_mem_recv(h->s, (const uint8_t *)c->in, c->in_len);
		c->in_len = 0;
		progress = true;
		if (n < 0) {
			/* A connection error nghttp2 could not answer itself
			 * (bad preface, flood): GOAWAY if it still can. */
			nghttp2_session_terminate_session(h->s, NGHTTP2_PROTOCOL_ERROR);
			h->goaway = h->terminated = true;
			send_frames(c, &progress);
			c->close_after = true;
			return true;
		}
	}
	if (!h->settings_acked && cs->now_ms >= h->settings_deadline_ms && !h->terminated) {
		nghttp2_session_terminate_session(h->s, NGHTTP2_SETTINGS_TIMEOUT);
		h->goaway = h->terminated = true;
	}
	if (cs->draining && !h->goaway) {
		/* RFC 9113 §6.8: the streams begun are finished, no new one. */
		nghttp2_submit_goaway(h->s, NGHTTP2_FLAG_NONE,
		                      nghttp2_session_get_last_proc_stream_id(h->s),
		                      NGHTTP2_NO_ERROR, NULL, 0);
		h->goaway = true;
	}
	if (!send_frames(c, &progress)) {
		c->close_after = true;
		return true;
	}
	check_over(c);
	return progress;
}

bool h2_idle(const struct conn *c)
{
	const struct h2 *h = c->h2;

	return h->nstreams == 0 && h->hb_stream == 0 && !nghttp2_session_want_write(h->s);
}

void h2_goaway(struct conn *c, bool timeout)
{
	struct h2 *h = c->h2;
	bool queued = false;

	if (timeout) {
		if (!h->terminated)
			nghttp2_session_terminate_session(h->s, h->settings_acked
			                                                ? NGHTTP2_NO_ERROR
			                                                : NGHTTP2_SETTINGS_TIMEOUT);
		h->goaway = h->terminated = true;
		send_frames(c, &queued);
		c->close_after = true;
		return;
	}
	if (!h->goaway) {
		nghttp2_submit_goaway(h->s, NGHTTP2_FLAG_NONE,
		                      nghttp2_session_get_last_proc_stream_id(h->s),
		                      NGHTTP2_NO_ERROR, NULL, 0);
		h->goaway = true;
	}
	if (!send_frames(c, &queued))
		c->close_after = true;
	else
		check_over(c);
}
