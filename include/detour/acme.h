/* detour: the decisions of an ACME client (RFC 8555), without the network:
 * what the CA's JSON documents say (directory, problem, order,
 * authorization), which hosts need a certificate, when to renew and how
 * long to wait after a failure. Every parser reads untrusted bytes (the
 * CA's answers) with jansson and copies what it keeps into bounded fields:
 * an over-long or mistyped member is an error, never a truncation. See
 * docs/internals/acme.md. */
#ifndef DETOUR_ACME_H
#define DETOUR_ACME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detour/common.h"
#include "detour/config.h"
#include "detour/rule.h"

#define DETOUR_ACME_URL_MAX   1024
#define DETOUR_ACME_TOKEN_MAX 256
#define DETOUR_ACME_HOST_MAX  254

/* The "urn:ietf:params:acme:error:" namespace of RFC 8555 §6.7. */
#define DETOUR_ACME_ERR_NS "urn:ietf:params:acme:error:"

/* An RFC 7807 problem document (RFC 8555 §6.7). Missing members are "". */
struct detour_acme_problem {
	char type[128];
	char detail[512];
	int status; /* the "status" member, 0 when absent */
};

/* Parses a problem document. DETOUR_EINVAL when buf is not a JSON object;
 * a type or detail too long is cut at a character boundary and "..." added
 * (it is only logged). */
detour_err detour_acme_problem_parse(const char *buf, size_t len, struct detour_acme_problem *p);

/* Whether p's type is the ACME error name ("badNonce" for
 * urn:ietf:params:acme:error:badNonce). */
bool detour_acme_problem_is(const struct detour_acme_problem *p, const char *name);

/* The directory (RFC 8555 §7.1.1): the URLs detour uses. */
struct detour_acme_dir {
	char new_nonce[DETOUR_ACME_URL_MAX];
	char new_account[DETOUR_ACME_URL_MAX];
	char new_order[DETOUR_ACME_URL_MAX];
	bool eab_required; /* meta.externalAccountRequired: detour has no EAB */
};

/* Parses a directory. DETOUR_EINVAL when one of newNonce, newAccount and
 * newOrder is missing, not a string, or not an https:// URL that fits. */
detour_err detour_acme_dir_parse(const char *buf, size_t len, struct detour_acme_dir *d);

/* Object statuses (RFC 8555 §7.1.6). */
enum detour_acme_status {
	DETOUR_ACME_UNKNOWN = 0,
	DETOUR_ACME_PENDING,
	DETOUR_ACME_READY,
	DETOUR_ACME_PROCESSING,
	DETOUR_ACME_VALID,
	DETOUR_ACME_INVALID,
	DETOUR_ACME_DEACTIVATED,
	DETOUR_ACME_EXPIRED,
	DETOUR_ACME_REVOKED,
};

/* The name of st ("pending"), "unknown" for DETOUR_ACME_UNKNOWN. */
const char *detour_acme_status_name(enum detour_acme_status st);

#define DETOUR_ACME_MAX_AUTHZ 100 /* authorizations of one order */

/* An order (RFC 8555 §7.1.3). */
struct detour_acme_order {
	enum detour_acme_status status;
	char finalize[DETOUR_ACME_URL_MAX];
	char certificate[DETOUR_ACME_URL_MAX]; /* "" until valid */
	char (*authz)[DETOUR_ACME_URL_MAX];    /* nauthz URLs, new memory */
	size_t nauthz;
	struct detour_acme_problem error; /* type "" when none */
};

/* Parses an order into o (o->authz allocated; detour_acme_order_fini frees
 * it, also after an error). DETOUR_EINVAL when status, finalize or
 * authorizations is missing or mistyped. */
detour_err detour_acme_order_parse(const char *buf, size_t len, struct detour_acme_order *o);
void detour_acme_order_fini(struct detour_acme_order *o);

/* The challenge types detour answers. */
enum detour_acme_chal { DETOUR_ACME_HTTP01 = 0, DETOUR_ACME_TLSALPN01, DETOUR_ACME_NCHAL };

struct detour_acme_challenge {
	bool present;
	enum detour_acme_status status;
	char url[DETOUR_ACME_URL_MAX];
	char token[DETOUR_ACME_TOKEN_MAX]; /* base64url (checked) */
	struct detour_acme_problem error;  /* type "" when none */
};

/* An authorization (RFC 8555 §7.1.4): its identifier and the challenges
 * of the types detour answers (others are skipped). */
struct detour_acme_authz {
	enum detour_acme_status status;
	char host[DETOUR_ACME_HOST_MAX]; /* identifier.value, of type "dns" */
	bool wildcard;
	struct detour_acme_challenge chal[DETOUR_ACME_NCHAL];
};

/* Parses an authorization. DETOUR_EINVAL when status or a dns identifier is
 * missing, or a challenge of a known type has no url or a token that is not
 * base64url. */
detour_err detour_acme_authz_parse(const char *buf, size_t len, struct detour_acme_authz *a);

/* The hosts to certify: every exact host of a rule source, of
 * canonical-host and of acme-hosts; wildcard rule hosts kept apart (they
 * need DNS-01 for a certificate of their own, but a handshake for one of
 * their names may start an order on demand). Both lists sorted, unique,
 * lower-case, new memory. */
struct detour_acme_hosts {
	char **exact;
	size_t n, cap;
	char **suffix; /* ".example.com" for "*.example.com" */
	size_t nsuffix, scap;
};

/* Called for a host left out, with the reason (once per distinct host). */
typedef void (*detour_acme_note_fn)(void *arg, const char *host, const char *why);

/* Adds host[0..len) (a trailing dot and case ignored). Returns 1 when it was
 * added, 0 when it was there already or was left out (note called with the
 * reason: an IP address, a single label, a wildcard for an exact list), -1
 * when out of memory. */
int detour_acme_hosts_add(struct detour_acme_hosts *h, const char *host, size_t len,
                          detour_acme_note_fn note, void *arg);

/* Adds the hosts of every rule of rs that names one. -1 when out of memory. */
int detour_acme_hosts_add_rules(struct detour_acme_hosts *h, const struct detour_ruleset *rs,
                                detour_acme_note_fn note, void *arg);

/* Adds canonical-host's aliases and canonical hosts and acme-hosts of c. */
int detour_acme_hosts_add_config(struct detour_acme_hosts *h, const struct detour_config *c,
                                 detour_acme_note_fn note, void *arg);

/* Whether host (lower-case, NUL-ended) is in the exact list. */
bool detour_acme_hosts_has(const struct detour_acme_hosts *h, const char *host);

/* Whether some rule names host: in the exact list, or under a wildcard. */
bool detour_acme_hosts_names(const struct detour_acme_hosts *h, const char *host);

void detour_acme_hosts_free(struct detour_acme_hosts *h);

/* When to renew a certificate valid from not_before to not_after: once
 * two thirds of its lifetime has passed, less a jitter of up to 1/30 of the
 * lifetime drawn from rnd (so that certificates issued together do not all
 * renew in the same second). */
int64_t detour_acme_renew_at(int64_t not_before, int64_t not_after, uint32_t rnd);

/* The wait after the failures-th failure in a row (1, 2, ...): base_ms
 * doubled each time, at most max_ms, then between 3/4 and 5/4 of that drawn
 * from rnd (jitter), and never above max_ms. */
uint64_t detour_acme_backoff_ms(unsigned failures, uint64_t base_ms, uint64_t max_ms, uint32_t rnd);

#endif
