/* detour server: the access log of one worker, in one of two formats
 * (access-log FILE [format=combined|json], docs/config.md):
 *
 *   combined  Apache's %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"
 *             followed by the matched rule's id and the Location sent, both
 *             quoted, "-" when absent;
 *   json      one JSON object a line (time, client, method, target, host,
 *             scheme, protocol, status, bytes, duration_ms, rule, origin,
 *             location, user_agent, referer), for log shippers.
 *
 * Lines are formatted into the worker's own buffer with a fixed struct bbuf
 * (no allocation on the request path) and whole buffers written with one
 * write() to a descriptor opened O_APPEND, so lines of different workers
 * never interleave. */
#ifndef DETOUR_ACCESSLOG_H
#define DETOUR_ACCESSLOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/civil.h"
#include "detour/http1.h"

struct alog {
	char *buf; /* NULL: the access log is off */
	size_t len, cap;
	int fd;         /* shared by every worker; reopened in place with dup2() */
	int format;     /* enum detour_alog_format (detour/config.h) */
	time_t iso_sec; /* the second iso holds (json) */
	char iso[CIVIL_RFC3339_MAX];
	/* Lines a failed write lost (a full disk, a broken pipe): written by
	 * the worker, read by the metrics (detour_accesslog_dropped_total). */
	_Atomic uint64_t dropped;
	bool failing; /* the last write failed: said once in the error log */
};

/* What one line says about one answered request. */
struct alog_entry {
	const char *peer;                 /* the client's address, "" when unknown */
	const struct detour_request *req; /* NULL: a request that could not be parsed */
	int status;
	size_t bytes;        /* of the response */
	const char *rule_id; /* NULL: no rule answered */
	const char *origin;  /* "file", "api", "maintenance"; NULL: no rule */
	const char *loc;     /* the Location sent, loc_len bytes (0: none) */
	size_t loc_len;
	bool https;           /* the connection's scheme */
	uint64_t duration_ms; /* from the first byte of the request to its answer */
};

/* Sets l up to write to fd in format (enum detour_alog_format); fd < 0 (or
 * no memory for the buffer): off. */
void alog_init(struct alog *l, int fd, int format);

/* One line for e. log_time is the formatted %t of the combined format, now
 * the same second (the json format writes it as RFC 3339). No-op when off. */
void alog_request(struct alog *l, const char *log_time, time_t now, const struct alog_entry *e);

/* Writes the buffered lines: when nearly full, at least once a second, on
 * SIGUSR1 (before the reopen) and at exit. A write that fails (ENOSPC, EIO,
 * EPIPE, ...) drops what is left and counts its lines in l->dropped: the
 * worker goes on answering, never waits for the disk; the error log says
 * so when writes start failing and when they work again. */
void alog_flush(struct alog *l);

/* Flushes and frees the buffer. */
void alog_fini(struct alog *l);

#endif
