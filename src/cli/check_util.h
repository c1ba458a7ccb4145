/* detour check: the leaf every part of the command stands on. The types of
 * a run (options, chains, hops, findings) and the helpers on them; nothing
 * here calls another check file. Above it: check_hop.c (one response: its
 * findings and the next step), check_out.c (table and JSON output),
 * check_input.c (--input), check_against.c (--against), check_fetch.c (the
 * libcurl transfers, calling check_hop.c and check_out.c), and check.c (the
 * command line) on top. Private to src/cli; see docs/internals/cli.md. */
#ifndef DETOUR_CLI_CHECK_UTIL_H
#define DETOUR_CLI_CHECK_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "detour/certinfo.h"
#include "detour/finding.h"
#include "detour/follow.h"
#include "detour/follow_hdr.h"

struct check_opts {
	enum detour_as as;
	const char *method; /* NULL: GET, or POST with a body */
	const char *body;   /* --data / --data-file bytes */
	size_t body_len;
	bool has_body;
	struct detour_header headers[DETOUR_FOLLOW_MAX_USER_HEADERS];
	size_t nheaders;
	const char *referrer;
	unsigned max_hops;
	const char *hsts_file;
	bool follow_refresh;
	bool json;
	bool color;
	bool quiet;
	int parallel;
	double timeout;
	const char *cacert;
	const char *resolve[64];
	size_t nresolve;
	int expect_status; /* 0: none */
	const char *expect_location;
	int exit_code;               /* raised while printing: 1 error finding, 2 network error */
	bool first_only;             /* --against: stop at the first response */
	bool include;                /* --include: keep and show each response's head */
	size_t skipped;              /* --against: rules no request was made for */
	size_t nprinted, nbad, nnet; /* chains printed; with an error; with a network error */
	char connect_to[320];        /* --against: CURLOPT_CONNECT_TO for every request */
	int64_t now;                 /* certificate expiry is judged at: --at, DETOUR_NOW or now */
	long http_version;           /* CURLOPT_HTTP_VERSION, 0: libcurl's default */
	size_t page_cap;             /* detour crawl: keep up to this many bytes of the last body */
};

struct hop {
	char method[32];
	char *url;  /* the URL requested, fragment included */
	int status; /* 0 when no response */
	char reason[64];
	char *loc_raw;      /* Location as received */
	char *loc_resolved; /* the next URL when followed */
	char cache[160];
	char *sts;
	char sts_note[48];
	char *cookies; /* Set-Cookie names, comma separated */
	char *vary;
	char *req_headers; /* header lines sent, '\n'-terminated each */
	char *error;       /* network error */
	char note[256];    /* what changed for the next request */
	double ms;
	bool body_sent;
	bool internal; /* Chromium's HSTS "307 Internal Redirect" */
	bool followed; /* a next request was made from this response */
	bool refresh;  /* ... through a declarative refresh */
	bool has_refresh, refresh_meta;
	unsigned refresh_delay;
	char *refresh_url;
	/* https: the server's leaf certificate (check_tls.c) */
	struct detour_cert cert;
	bool has_cert;
	bool cert_verified;   /* libcurl verified chain and name */
	char *resp_head;      /* --include: status line and header fields, '\n'-terminated each */
	const char *protocol; /* "HTTP/1.1", "HTTP/2" (static), NULL: no response */
};

struct finding {
	enum detour_finding code;
	int hop; /* 1-based; 0 for the whole chain */
	char *msg;
};

struct chain {
	char *url; /* as given */
	int expect_status;
	char *expect_location;
	char *label;      /* --against: the rule id */
	bool expect_none; /* --against: no Location expected (410) */
	struct hop *h;
	size_t nh, caph;
	struct finding *f;
	size_t nf, capf;
	int final_status, redirects;
	bool failed, net_error, bad_input, done;
	const struct check_opts *o;
	/* while running */
	struct detour_follow_req *req;
	struct detour_cookie_jar *jar;
	void *easy;
	struct curl_slist *slist;
	char *hbuf;
	size_t hlen, hcap;
	char *body;
	size_t blen, bcap;
	bool want_body;
	int probe; /* a handshake after a verification failure (check_fetch.c) */
	char reason[64];
	char sline[256]; /* the status line (--include), without CRLF */
	char errbuf[256];
	struct timespec t0;
	/* with o->page_cap, once ended: the last response's body and type */
	char *page;
	size_t page_len;
	char page_type[128];
	size_t page_cap; /* set by the feed: this chain's body cap, 0: o->page_cap */
	void *ud;        /* the feed's */
};

/* Out of memory: prints "detour check: out of memory" and exits 2, the
 * status of a network or usage error. The one exit of detour check outside
 * main(): every allocation of a run is small, and a check that cannot
 * allocate cannot report anything either. */
void check_oom(void) __attribute__((noreturn));

/* malloc and copies of strings that call check_oom instead of returning
 * NULL (arrays grow with base/grow.h's BASE_GROW, then check_oom on -1).
 * check_strdup(NULL) is NULL; check_strndup copies s[0..n) and
 * NUL-terminates it. */
void *check_xmalloc(size_t n);
char *check_strdup(const char *s);
char *check_strndup(const char *s, size_t n);

/* Adds a finding to c (the message is copied). */
void check_finding(struct chain *c, enum detour_finding f, int hop, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Appends a zeroed hop to c and returns it (valid until the next call). */
struct hop *check_new_hop(struct chain *c);

/* Appends a chain for url with its expectation (st 0: none; loc may be NULL)
 * to *v (grown as needed; the strings are copied). */
void check_add_chain(struct chain **v, size_t *n, size_t *cap, const char *url, int st,
                     const char *loc);

/* Frees what a chain holds while and after it runs (hops, findings), not
 * its url, expectation and label, nor the chain itself. */
void check_chain_free(struct chain *c);

/* Frees chains[0..n) and everything they hold, and the array. */
void check_chains_free(struct chain *chains, size_t n);

/* Parses a -H argument "Name: value" into h (pointing into s): a token
 * name (RFC 9110 §5.1), the value without surrounding blanks and without
 * CR, LF or NUL. Returns false when s is not such a header. */
bool check_parse_header(const char *s, struct detour_header *h);

/* Whether s has the shape of a curl --resolve entry, [+]HOST:PORT:ADDR[,ADDR]...
 * (an IPv6 ADDR in brackets): a host, a port of 1 to 65535, an address.
 * libcurl itself skips an entry it cannot use, silently. */
bool check_resolve_ok(const char *s);

/* Reads a whole file into new memory (NUL-terminated, *len bytes before the
 * NUL); NULL with errno set when it cannot be read. */
char *check_read_file(const char *path, size_t *len);

#endif
