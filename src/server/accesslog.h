/* detour server: the access log of one worker. The combined log format
 * (Apache's %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i")
 * followed by the matched rule's id and the Location sent, both quoted,
 * "-" when absent. Lines are formatted into the worker's own buffer and
 * whole buffers written with one write() to a descriptor opened O_APPEND,
 * so lines of different workers never interleave. */
#ifndef DETOUR_ACCESSLOG_H
#define DETOUR_ACCESSLOG_H

#include <stddef.h>

#include "detour/http1.h"

struct alog {
	char *buf; /* NULL: the access log is off */
	size_t len, cap;
	int fd; /* shared by every worker; reopened in place with dup2() */
};

/* Sets l up to write to fd; fd < 0 (or no memory for the buffer): off. */
void alog_init(struct alog *l, int fd);

/* One line for a request answered with status and bytes. req may be NULL
 * (a request that could not be parsed); rule_id NULL when no rule answered
 * (logged "-"); log_time is the formatted %t. No-op when off. */
void alog_request(struct alog *l, const char *log_time, const char *peer,
                  const struct detour_request *req, int status, size_t bytes, const char *rule_id,
                  const char *loc, size_t loc_len);

/* Writes the buffered lines: when nearly full, at least once a second, on
 * SIGUSR1 (before the reopen) and at exit. */
void alog_flush(struct alog *l);

/* Flushes and frees the buffer. */
void alog_fini(struct alog *l);

#endif
