/* detour server: the connections of one worker. Read once per wake-up,
 * parse every whole request head in the buffer (pipelining), route and
 * render each response into the connection's output buffer, then write
 * them all with one write(). The request path makes no allocation: buffers
 * come from the set's free list and grow only for oversized heads or
 * responses. Everything here runs on the worker's thread. */
#ifndef DETOUR_CONN_H
#define DETOUR_CONN_H

#include <stdint.h>
#include <sys/socket.h>

#include "conn_types.h"

/* Empties the lists of cs. */
void conn_set_init(struct conns *cs);

/* A connection accepted on listener (index) from sa: registered for reads
 * and put on the active list. cs->nconns counts it already; on failure fd
 * is closed and it is uncounted (closed() called). */
void conn_accepted(struct conns *cs, int fd, const struct sockaddr *sa, uint8_t listener);

/* Moves c to the tail of list, its deadline renewed from cs->now_ms. */
void conn_list_move(struct conns *cs, struct conn *c, enum conn_list list);

/* Handles every connection whose deadline passed (408 for a partial head,
 * else closed). */
void conn_expire(struct conns *cs);

/* The earliest deadline of cs, or next when that is earlier. */
uint64_t conn_next_deadline(const struct conns *cs, uint64_t next);

/* Drain (SIGTERM): sets draining, closes idle connections, lets the others
 * finish their request with Connection: close. */
void conn_drain_all(struct conns *cs);

/* Closes every connection (past the drain deadline), then frees the free
 * list. */
void conn_close_all(struct conns *cs);

void conn_close(struct conn *c);

/* Whether connections are owed a turn (budget.h): the next wait must not
 * block. */
bool conn_has_ready(const struct conns *cs);

/* After each epoll batch: one turn for each connection owed one, and the
 * close of those shed over the memory budget (budget.h). */
void conn_run_ready(struct conns *cs);

#endif
