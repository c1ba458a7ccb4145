/* detour server: one worker's budgets against hostile clients (issue 11),
 * used by conn.c and request.c.
 *
 * Fairness: a connection gets one *turn* per loop iteration: one read()
 * and at most TURN_REQUESTS answers. One with requests still buffered when
 * its turn ends goes on the worker's ready list, which the worker runs after
 * each epoll batch (conn_run_ready); it is not read from meanwhile, so a
 * client that pipelines thousands of requests waits behind the others as one
 * does with a single request. Readiness is not lost: the buffered requests
 * are in the connection, not in the socket, so no epoll event would come back
 * for them.
 *
 * Memory: the bytes by which a worker's connection buffers grew beyond their
 * initial sizes (long heads, oversized answers waiting for a slow reader) are
 * counted against `limit buffer-memory` (cs->buf_limit). A growth that would
 * pass it sheds the heaviest connection: closed after the batch (closing it
 * inside the batch could leave a later event of the batch naming it), with a
 * log line and detour_connections_shed_total{reason="memory"}; when the
 * connection asking is itself the heaviest, its growth is refused instead.
 *
 * See docs/internals/server.md, "Hostile clients". */
#ifndef DETOUR_BUDGET_H
#define DETOUR_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#include "conn_types.h"

/* Answers a connection may get in one turn: a pipelined batch of 16 (wrk's
 * depth in bench/run.sh) is answered in one. */
#define TURN_REQUESTS 32

/* The kernel's part of what one connection may have queued (TCP_NOTSENT_LOWAT,
 * set on the listeners and inherited by what they accept): a write() takes
 * more only while fewer bytes than this wait unsent, so a client that does not
 * read holds its receive window plus this, not megabytes of autotuned send
 * buffer. */
#define BUDGET_NOTSENT_LOWAT (16 * 1024)

/* Empties cs's ready list (the owner sets cs->buf_limit). */
void budget_init(struct conns *cs);

/* Grows *buf (c->in or c->out, *cap its size) to exactly want bytes, if the
 * worker's budget allows: past it, the heaviest other connection is shed
 * (see the top), or, when c is the heaviest, false is returned and nothing
 * changes (c is counted as shed: its caller answers 503 and closes). false
 * too when realloc fails. */
bool budget_grow(struct conn *c, char **buf, uint32_t *cap, uint32_t want);

/* Shrinks *buf to want bytes (a no-op when it is not larger). */
void budget_shrink(struct conn *c, char **buf, uint32_t *cap, uint32_t want);

/* c now holds what its buffer sizes say (after it was taken from the free
 * list): counted. */
void budget_adopt(struct conn *c);

/* c is closing: its bytes leave the count, and it leaves the ready list. */
void budget_forget(struct conn *c);

/* c is owed a turn (a no-op when it already is). */
void budget_ready_push(struct conn *c);

/* Moves cs's whole ready list into *into (a sentinel), leaving it empty:
 * what the pass then pushes waits for the next iteration. */
void budget_ready_take(struct conns *cs, struct conn_link *into);

/* The first connection of list *l, unlinked, or NULL when it is empty. */
struct conn *budget_ready_pop(struct conn_link *l);

static inline bool budget_ready_empty(const struct conns *cs)
{
	return cs->ready.next == &cs->ready;
}

#endif
