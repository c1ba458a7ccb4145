/* detour check: the transfers. Every chain has one libcurl easy handle,
 * reused hop after hop with CURLOPT_FOLLOWLOCATION off, on one multi handle
 * for the whole run (at most --parallel chains at once); the HSTS store is
 * loaded before and saved after. check_hop.c decides what a response means. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "base/ascii.h"
#include "base/buf.h"
#include "base/grow.h"
#include "check_fetch.h"
#include "check_hop.h"
#include "check_out.h"
#include "check_tls.h"
#include "check_util.h"
#include "detour/respond.h"

#define BODY_CAP (1u << 20) /* bytes of HTML read for a meta refresh */

struct run {
	struct check_opts *o;
	const struct check_feed *feed;
	CURLM *multi;
	struct chain *chains; /* check_run's array (its feed) */
	size_t n, next_start, next_print, active, done;
	struct detour_hsts *hsts; /* NULL as curl without --hsts */
	struct curl_slist *resolve, *connect_to;
	const char *cainfo;
	bool progress;
	struct timespec last_progress;
	char curl_ua[64];
	struct check_tls tls; /* certificates seen, for reused connections */
};

/* The handshakes made after libcurl refused a certificate (c->probe), with
 * CURLOPT_CONNECT_ONLY: no request is sent on them. */
enum {
	PROBE_NONE = 0,
	PROBE_CHAIN, /* the chain verified, the host name not checked */
	PROBE_ANY,   /* nothing verified: only to read the certificate */
};

static void chain_free_runtime(struct chain *c)
{
	if (c->easy)
		curl_easy_cleanup(c->easy);
	c->easy = NULL;
	curl_slist_free_all(c->slist);
	c->slist = NULL;
	free(c->req);
	c->req = NULL;
	detour_cookie_jar_free(c->jar);
	c->jar = NULL;
	free(c->hbuf);
	c->hbuf = NULL;
	free(c->body);
	c->body = NULL;
}

/* s[0..n) without its line ending into dst (cut to fit), NUL-terminated. */
static void copy_line(char *dst, size_t cap, const char *s, size_t n)
{
	while (n && (s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct chain *c = ud;
	size_t len = size * n;
	/* A new status line starts a new header block (after 1xx). */
	if (len >= 5 && !memcmp(p, "HTTP/", 5)) {
		c->hlen = 0;
		c->reason[0] = 0;
		if (c->o->include)
			copy_line(c->sline, sizeof(c->sline), p, len);
		const char *sp = memchr(p, ' ', len);
		if (sp) {
			const char *sp2 = memchr(sp + 1, ' ', len - (size_t)(sp + 1 - p));
			if (sp2) {
				const char *r = sp2 + 1;
				copy_line(c->reason, sizeof(c->reason), r, len - (size_t)(r - p));
			}
		}
		return len;
	}
	if (BASE_GROW(c->hbuf, c->hcap, c->hlen + len + 1))
		check_oom();
	memcpy(c->hbuf + c->hlen, p, len);
	c->hlen += len;
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct chain *c = ud;
	size_t len = size * n;
	size_t cap = c->page_cap ? c->page_cap : c->o->page_cap ? c->o->page_cap : BODY_CAP;
	if (!c->want_body || c->blen >= cap)
		return len;
	size_t take = len;
	if (c->blen + take > cap)
		take = cap - c->blen;
	if (BASE_GROW(c->body, c->bcap, c->blen + take))
		check_oom();
	memcpy(c->body + c->blen, p, take);
	c->blen += take;
	return len;
}

static void add_resolve(struct run *R, const char *spec)
{
	R->resolve = curl_slist_append(R->resolve, spec);
}

/* The request's header lines as the hop shows them: each followed by a
 * newline, in a new string. */
static char *header_block(const char *const *lines, size_t n)
{
	struct bbuf b;
	char *s;

	/* No cap of its own: the lines are in memory (at most 32 KiB). */
	bbuf_init(&b, SIZE_MAX / 2);
	for (size_t i = 0; i < n; i++) {
		bbuf_puts(&b, lines[i]);
		bbuf_putc(&b, '\n');
	}
	if ((s = bbuf_take(&b, NULL)) == NULL)
		check_oom();
	return s;
}

/* The settings of c->easy (just reset) for a connection to url: the
 * transfer's owner, timeouts, CA bundle, --resolve and --against's
 * connect-to, and the server's certificate chain for https. */
static void connection_opts(struct run *R, struct chain *c, const char *url)
{
	CURL *e = c->easy;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, c);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(R->o->timeout * 1000));
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(R->o->timeout * 1000));
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (R->cainfo)
		curl_easy_setopt(e, CURLOPT_CAINFO, R->cainfo);
	if (R->resolve)
		curl_easy_setopt(e, CURLOPT_RESOLVE, R->resolve);
	if (R->connect_to)
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, R->connect_to);
	if (!strncmp(url, "https:", 6))
		curl_easy_setopt(e, CURLOPT_CERTINFO, 1L);
	if (R->o->http_version)
		curl_easy_setopt(e, CURLOPT_HTTP_VERSION, R->o->http_version);
}

/* Configures c->easy for the request c->req and adds it to the multi
 * handle. */
static int start_transfer(struct run *R, struct chain *c)
{
	struct check_opts *o = R->o;
	struct detour_follow_req *r = c->req;
	char url[DETOUR_FOLLOW_URL_MAX];
	char lbuf[32768];
	const char *lines[DETOUR_FOLLOW_MAX_USER_HEADERS + 32];

	if (!c->easy)
		c->easy = curl_easy_init();
	else
		curl_easy_reset(c->easy);
	if (!c->easy)
		return -1;
	CURL *e = c->easy;
	curl_slist_free_all(c->slist);
	c->slist = NULL;
	c->hlen = 0;
	c->blen = 0;
	c->reason[0] = 0;
	c->errbuf[0] = 0;
	if (detour_follow_wire_url(r, url, sizeof(url)) < 0)
		return -1;
	ssize_t nl = detour_follow_headers(r, c->jar, time(NULL), lbuf, sizeof(lbuf), lines,
	                                   sizeof(lines) / sizeof(lines[0]));
	if (nl < 0)
		return -1;
	struct hop *h = check_new_hop(c);
	snprintf(h->method, sizeof(h->method), "%s", r->method);
	h->url = check_strndup(r->url, r->url_len);
	h->body_sent = r->body;
	h->req_headers = header_block(lines, (size_t)nl);
	const char *accept_enc = NULL;
	for (ssize_t i = 0; i < nl; i++) {
		/* libcurl writes Accept-Encoding itself so that it can decode
		 * the body it asked for. */
		if (ascii_prefix_ci(lines[i], strlen(lines[i]), "Accept-Encoding:")) {
			accept_enc = lines[i] + 17;
			continue;
		}
		c->slist = curl_slist_append(c->slist, lines[i]);
	}
	if (r->as == DETOUR_AS_BROWSER) {
		/* A browser never sends Expect: 100-continue; libcurl would
		 * for a large body. */
		c->slist = curl_slist_append(c->slist, "Expect:");
		curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING,
		                 accept_enc ? accept_enc : DETOUR_BROWSER_ACCEPT_ENCODING);
	} else {
		curl_easy_setopt(e, CURLOPT_USERAGENT, R->curl_ua);
	}
	connection_opts(R, c, url);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->slist);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
	if (!strcmp(r->method, "HEAD")) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (r->body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, o->body ? o->body : "");
		if (strcmp(r->method, "POST") || (r->as == DETOUR_AS_CURL && r->curl_custom))
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	} else {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
		if (strcmp(r->method, "GET"))
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	}
	c->want_body = (o->follow_refresh || o->page_cap) && strcmp(r->method, "HEAD");
	clock_gettime(CLOCK_MONOTONIC, &c->t0);
	if (curl_multi_add_handle(R->multi, e) != CURLM_OK)
		return -1;
	return 0;
}

/* The Content-Type of the last response, from its header block, into
 * c->page_type (empty when none). */
static void take_content_type(struct chain *c)
{
	const char *p = c->hbuf, *end = c->hbuf + c->hlen;

	c->page_type[0] = 0;
	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (ascii_prefix_ci(p, l, "Content-Type:")) {
			const char *v = p + 13;
			size_t vl = l - 13;
			while (vl && (*v == ' ' || *v == '\t'))
				v++, vl--;
			copy_line(c->page_type, sizeof(c->page_type), v, vl);
		}
		p = nl ? nl + 1 : NULL;
	}
}

static void finish(struct run *R, struct chain *c)
{
	check_conclude(c);
	if (R->o->page_cap) {
		/* detour crawl: the last response's body and type outlive the
		 * transfer. */
		take_content_type(c);
		c->page = c->body;
		c->page_len = c->blen;
		c->body = NULL;
	}
	chain_free_runtime(c);
	c->done = true;
	R->active--;
	R->done++;
	R->feed->done(R->feed->ud, c);
}

/* Applies a known HSTS host before sending, recording Chromium's "307
 * Internal Redirect" hop. Returns false if the chain ended. */
static bool hsts_before_send(struct run *R, struct chain *c)
{
	struct detour_follow_step st;
	struct detour_follow_req *r = c->req;
	char before[DETOUR_FOLLOW_URL_MAX];
	char method[32];
	memcpy(before, r->url, r->url_len + 1);
	snprintf(method, sizeof(method), "%s", r->method);
	if (!detour_follow_hsts(r, R->hsts, time(NULL), &st))
		return true;
	if (r->as == DETOUR_AS_CURL)
		return true; /* curl rewrites the URL silently */
	struct hop *h = check_new_hop(c);
	snprintf(h->method, sizeof(h->method), "%s", method);
	h->url = check_strdup(before);
	h->internal = true;
	h->status = 307;
	snprintf(h->reason, sizeof(h->reason), "Internal Redirect");
	snprintf(h->note, sizeof(h->note), "Non-Authoritative-Reason: HSTS");
	if (st.step == DETOUR_STEP_FAIL) {
		check_finding(c, DETOUR_F_TOO_MANY, (int)c->nh, "more than %u redirects",
		              r->max_redirects);
		finish(R, c);
		return false;
	}
	h->loc_resolved = check_strndup(r->url, r->url_len);
	if (st.auth_dropped)
		snprintf(h->note + strlen(h->note), sizeof(h->note) - strlen(h->note),
		         "; Authorization dropped");
	return true;
}

static void launch(struct run *R, struct chain *c)
{
	if (!hsts_before_send(R, c))
		return;
	if (start_transfer(R, c) < 0) {
		check_finding(c, DETOUR_F_NETWORK, (int)c->nh, "could not set up the request");
		c->net_error = true;
		finish(R, c);
	}
}

/* After libcurl refused the certificate of c's last hop: a handshake with
 * the same connection settings and verification relaxed as kind says, to
 * tell a wrong name from a chain that does not verify and to read the
 * certificate for the report. Nothing is sent on it, so nothing unverified
 * is ever followed. Returns false if it could not be started. */
static bool start_probe(struct run *R, struct chain *c, int kind)
{
	char url[DETOUR_FOLLOW_URL_MAX];

	if (detour_follow_wire_url(c->req, url, sizeof(url)) < 0)
		return false;
	curl_easy_reset(c->easy);
	c->errbuf[0] = 0;
	connection_opts(R, c, url);
	curl_easy_setopt(c->easy, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(c->easy, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(c->easy, CURLOPT_SSL_VERIFYPEER, kind == PROBE_CHAIN ? 1L : 0L);
	c->probe = kind;
	if (curl_multi_add_handle(R->multi, c->easy) != CURLM_OK) {
		c->probe = PROBE_NONE;
		return false;
	}
	return true;
}

/* A probe ended: if the chain verified without the name check, the name is
 * what is wrong; else probe again with nothing verified, to read the
 * certificate, and report that it does not verify. The chain ends at this
 * hop, with curl's reason (h->error) in the finding. */
static void probe_done(struct run *R, struct chain *c, CURLcode res)
{
	struct hop *h = &c->h[c->nh - 1];
	int hopno = (int)c->nh;
	int kind = c->probe;

	c->probe = PROBE_NONE;
	if (res == CURLE_OK)
		check_tls_take(NULL, c->easy, h);
	if (kind == PROBE_CHAIN && res != CURLE_OK && start_probe(R, c, PROBE_ANY))
		return;
	if (kind == PROBE_CHAIN && res == CURLE_OK)
		check_finding(c, DETOUR_F_CERT_NAME, hopno, "%s (the certificate is for %s)",
		              h->error, h->cert.alt_names[0] ? h->cert.alt_names : h->cert.subject);
	else
		check_finding(c, DETOUR_F_CERT_UNVERIFIED, hopno, "%s", h->error);
	c->failed = true;
	finish(R, c);
}

static void done_transfer(struct run *R, struct chain *c, CURLcode res)
{
	struct hop *h = &c->h[c->nh - 1];
	int hopno = (int)c->nh;
	struct timespec t1;
	curl_multi_remove_handle(R->multi, c->easy);
	if (c->probe) {
		probe_done(R, c, res);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	h->ms = (double)(t1.tv_sec - c->t0.tv_sec) * 1e3 +
	        (double)(t1.tv_nsec - c->t0.tv_nsec) / 1e6;
	if (res == CURLE_PEER_FAILED_VERIFICATION) {
		h->error = check_strdup(c->errbuf[0] ? c->errbuf : curl_easy_strerror(res));
		if (start_probe(R, c, PROBE_CHAIN))
			return;
		check_finding(c, DETOUR_F_CERT_UNVERIFIED, hopno, "%s", h->error);
		c->failed = true;
		finish(R, c);
		return;
	}
	if (res != CURLE_OK) {
		h->error = check_strdup(c->errbuf[0] ? c->errbuf : curl_easy_strerror(res));
		check_finding(c, DETOUR_F_NETWORK, hopno, "%s", h->error);
		c->net_error = true;
		finish(R, c);
		return;
	}
	long code = 0;
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
	h->status = (int)code;
	long ver = 0;
	curl_easy_getinfo(c->easy, CURLINFO_HTTP_VERSION, &ver);
	h->protocol = ver == CURL_HTTP_VERSION_2_0   ? "HTTP/2"
	              : ver == CURL_HTTP_VERSION_3   ? "HTTP/3"
	              : ver == CURL_HTTP_VERSION_1_0 ? "HTTP/1.0"
	                                             : "HTTP/1.1";
	snprintf(h->reason, sizeof(h->reason), "%s",
	         c->reason[0] ? c->reason : detour_reason(h->status));
	if (!strncmp(h->url, "https:", 6) && check_tls_take(&R->tls, c->easy, h)) {
		h->cert_verified = true;
		check_tls_expiry(c, hopno, R->o->now);
	}
	if (check_response(c, R->hsts))
		launch(R, c);
	else
		finish(R, c);
}

static void print_ready(struct run *R)
{
	while (R->next_print < R->n && R->chains[R->next_print].done) {
		struct chain *c = &R->chains[R->next_print];
		if (R->progress)
			fprintf(stderr, "\r\033[K");
		check_print_chain(R->o, c);
		check_chain_free(c);
		R->next_print++;
	}
}

static void progress(struct run *R, bool force)
{
	if (!R->progress)
		return;
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	double dt = (double)(t.tv_sec - R->last_progress.tv_sec) +
	            (double)(t.tv_nsec - R->last_progress.tv_nsec) / 1e9;
	if (!force && dt < 0.1)
		return;
	R->last_progress = t;
	fprintf(stderr, "\r\033[Kchecked %zu/%zu URLs, %zu running", R->done, R->n, R->active);
	fflush(stderr);
}

static void start_chain(struct run *R, struct chain *c)
{
	struct check_opts *o = R->o;
	struct detour_follow_opts fo = {
	        .as = o->as,
	        .method = o->method,
	        .body = o->has_body,
	        .curl_custom = o->method != NULL,
	        .headers = o->headers,
	        .nheaders = o->nheaders,
	        .referrer = o->referrer,
	        .max_redirects = o->max_hops,
	};
	R->active++;
	c->o = o;
	c->req = check_xmalloc(sizeof(*c->req));
	unsigned fl = 0;
	detour_err err = detour_follow_start(c->req, &fo, c->url, strlen(c->url), &fl);
	if (err) {
		check_finding(c, DETOUR_F_BAD_INPUT, 0, "%s: %s", c->url,
		              err == DETOUR_EUNSUPPORTED ? "not an http or https URL"
		                                         : "not an absolute URL");
		c->failed = true;
		c->bad_input = true;
		finish(R, c);
		return;
	}
	if (o->as == DETOUR_AS_BROWSER) {
		c->jar = detour_cookie_jar_new();
		if (!c->jar || detour_follow_seed_cookies(c->req, c->jar, time(NULL)))
			check_oom();
	}
	launch(R, c);
}

/* The HSTS store of the run: a browser always has one (kept in memory
 * unless --hsts names a file), curl only with --hsts. Returns 0, or 2 with
 * the error printed. */
static int hsts_load(struct run *R, const struct check_opts *o)
{
	if (o->as != DETOUR_AS_BROWSER && !o->hsts_file)
		return 0;
	R->hsts = detour_hsts_new();
	if (!R->hsts)
		return 2;
	if (!o->hsts_file)
		return 0;
	size_t len = 0;
	char *buf = check_read_file(o->hsts_file, &len);
	if (!buf && errno == ENOENT)
		return 0; /* a store not written yet */
	if (!buf) {
		fprintf(stderr, "detour check: %s: %s\n", o->hsts_file, strerror(errno));
		return 2;
	}
	struct detour_diag d = {0};
	int rc = 0;
	if (detour_hsts_load(R->hsts, o->hsts_file, buf, len, time(NULL), &d)) {
		char m[400];
		fprintf(stderr, "detour check: %s\n", detour_diag_format(&d, m, sizeof(m)));
		rc = 2;
	}
	free(buf);
	return rc;
}

/* Writes all of buf to fd. Returns 0, or -1 with errno set. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes the HSTS store back to --hsts FILE through a temporary file made
 * by mkstemp in the same directory (O_EXCL, mode 0600: never a predictable
 * name that a symlink could redirect), then renamed over FILE, so that a
 * reader never sees half of it. Returns 0, or 2 with the error printed. */
static int hsts_save(struct run *R, const struct check_opts *o)
{
	char *text;
	size_t len;
	char tmp[4096];
	int fd, rc = 0;

	if (!R->hsts || !o->hsts_file ||
	    detour_hsts_save(R->hsts, time(NULL), &text, &len) != DETOUR_OK)
		return 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", o->hsts_file) >= sizeof(tmp)) {
		fprintf(stderr, "detour check: cannot write %s: name too long\n", o->hsts_file);
		free(text);
		return 2;
	}
	fd = mkstemp(tmp);
	if (fd < 0 || write_all(fd, text, len) != 0 || fsync(fd) != 0 ||
	    rename(tmp, o->hsts_file) != 0) {
		fprintf(stderr, "detour check: cannot write %s: %s\n", o->hsts_file,
		        strerror(errno));
		if (fd >= 0)
			unlink(tmp);
		rc = 2;
	}
	if (fd >= 0)
		close(fd);
	free(text);
	return rc;
}

/* Runs the multi handle until the feed has no chain left and every chain
 * started has ended. */
static void run_all(struct run *R)
{
	for (;;) {
		int wait_ms = 0;
		while (R->active < (size_t)R->o->parallel) {
			struct chain *c = R->feed->next(R->feed->ud, &wait_ms);
			if (!c)
				break;
			start_chain(R, c);
		}
		if (!R->active && !wait_ms)
			break; /* nothing running, nothing left to start */
		int running = 0;
		curl_multi_perform(R->multi, &running);
		CURLMsg *m;
		int left;
		while ((m = curl_multi_info_read(R->multi, &left))) {
			if (m->msg != CURLMSG_DONE)
				continue;
			struct chain *c;
			CURLcode res = m->data.result;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
			done_transfer(R, c, res);
		}
		if (R->feed->tick)
			R->feed->tick(R->feed->ud);
		int ms = 100;
		if (wait_ms > 0 && wait_ms < ms)
			ms = wait_ms;
		if (R->active && running)
			curl_multi_poll(R->multi, NULL, 0, ms, NULL);
		else if (wait_ms > 0)
			nanosleep(&(struct timespec){0, (long)ms * 1000000L}, NULL);
	}
}

/* check_run's feed: the chains of its array in order; each printed when it
 * and those before it are done. */
static struct chain *array_next(void *ud, int *wait_ms)
{
	struct run *R = ud;
	*wait_ms = 0;
	return R->next_start < R->n ? &R->chains[R->next_start++] : NULL;
}

static void array_done(void *ud, struct chain *c)
{
	(void)c;
	print_ready(ud);
}

static void array_tick(void *ud)
{
	progress(ud, false);
}

/* The parts of a run around run_all: the CA bundle, the HSTS store,
 * --resolve, the multi handle. Returns the exit status. */
static int run_with(struct run *R)
{
	struct check_opts *o = R->o;
	curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
	snprintf(R->curl_ua, sizeof(R->curl_ua), "curl/%s", vi->version);
	/* The CA bundle: --cacert, else CURL_CA_BUNDLE, else SSL_CERT_FILE, as
	 * the curl tool reads them. */
	R->cainfo = o->cacert;
	if (!R->cainfo)
		R->cainfo = getenv("CURL_CA_BUNDLE");
	if (!R->cainfo)
		R->cainfo = getenv("SSL_CERT_FILE");
	if (hsts_load(R, o)) {
		detour_hsts_free(R->hsts);
		return 2;
	}
	for (size_t i = 0; i < o->nresolve; i++)
		add_resolve(R, o->resolve[i]);
	if (o->connect_to[0])
		R->connect_to = curl_slist_append(NULL, o->connect_to);
	R->multi = curl_multi_init();
	if (!R->multi)
		check_oom();
	curl_multi_setopt(R->multi, CURLMOPT_MAXCONNECTS, (long)o->parallel * 2);
	clock_gettime(CLOCK_MONOTONIC, &R->last_progress);

	run_all(R);

	curl_multi_cleanup(R->multi);
	curl_slist_free_all(R->resolve);
	curl_slist_free_all(R->connect_to);
	check_tls_free(&R->tls);
	int rc = hsts_save(R, o);
	detour_hsts_free(R->hsts);
	return rc ? rc : o->exit_code;
}

int check_run_feed(struct check_opts *o, const struct check_feed *feed)
{
	struct run R;
	memset(&R, 0, sizeof(R));
	R.o = o;
	R.feed = feed;
	return run_with(&R);
}

int check_run(struct check_opts *o, struct chain *chains, size_t n)
{
	struct run R;
	memset(&R, 0, sizeof(R));
	struct check_feed feed = {&R, array_next, array_done, array_tick};
	R.o = o;
	R.feed = &feed;
	R.chains = chains;
	R.n = n;
	R.progress = n > 1 && isatty(2) && !o->quiet;
	int rc = run_with(&R);
	print_ready(&R);
	if (R.progress)
		fprintf(stderr, "\r\033[K");
	return rc;
}
