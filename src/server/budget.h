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
 * counted against `limit buffer-memory` (cs->buf_limit), a soft limit, and
 * twice that, a hard cap (budget_hard). Past the soft limit nothing is
 * closed: backpressure first, as nginx and h2o stop reading from a client
 * whose output is backed up. A connection that grows its output buffer past
 * it, or whose write backs up while the worker is past it and holds grown
 * buffers, is *paused*: not read from and no new request parsed (HTTP/2: no
 * frame fed to the session) until its queued output drains to
 * BUDGET_RESUME_LOWAT; its growth is given back once the output is empty.
 * Only a growth that would pass the hard cap sheds: the heaviest connection
 * is closed after the batch (closing it inside the batch could leave a later
 * event of the batch naming it), with a log line and
 * detour_connections_shed_total{reason="memory"}; when the connection asking
 * is itself the heaviest, its growth is refused instead. Pauses are counted
 * in detour_connections_paused_total{reason="memory"} and the gauge
 * detour_connections_paused.
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

/* A paused connection (see the top) is resumed when no more than this is
 * queued in its output buffer: the kernel's part (BUDGET_NOTSENT_LOWAT) is
 * about to ask for more. */
#define BUDGET_RESUME_LOWAT (16 * 1024)

/* The hard cap on cs's grown buffers: twice `limit buffer-memory`. */
static inline uint64_t budget_hard(const struct conns *cs)
{
	return 2 * cs->buf_limit;
}

/* Whether cs's live connections hold more than the soft limit. */
static inline bool budget_over(const struct conns *cs)
{
	return cs->buf_held - cs->buf_shed_held > cs->buf_limit;
}

/* Empties cs's ready list (the owner sets cs->buf_limit). */
void budget_init(struct conns *cs);

/* Grows *buf (c->in, c->out, or another buffer grown for c; *cap its size)
 * to exactly want bytes, if the worker's budget allows; only the growth is
 * counted, by difference. Past the soft limit it is granted and, for
 * c->out, c is paused (budget_pause). Past the hard cap the heaviest other
 * connection is shed (see the top), or, when c is the heaviest, false is
 * returned and nothing changes (c is counted as shed: its caller answers
 * 503 and closes). false too when realloc fails. */
bool budget_grow(struct conn *c, char **buf, uint32_t *cap, uint32_t want);

/* c is not read from and parses no new request (see the top); counted. A
 * no-op when it is paused already. */
void budget_pause(struct conn *c);

/* c's output drained: reading and parsing go on (a no-op when not paused). */
void budget_resume(struct conn *c);

/* n more bytes held for c in a buffer of its own (an HTTP/2 stream's), if
 * the hard cap allows, as budget_grow decides (without pausing): true when
 * counted. Given back with budget_give. */
bool budget_take(struct conn *c, uint32_t n);

/* n bytes budget_take counted for c are freed. */
void budget_give(struct conn *c, uint32_t n);

/* Shrinks *buf to want bytes (a no-op when it is not larger). */
void budget_shrink(struct conn *c, char **buf, uint32_t *cap, uint32_t want);

/* c now holds what its buffer sizes say (after it was taken from the free
 * list): counted. */
void budget_adopt(struct conn *c);

/* c is closing: its bytes leave the count, it leaves the ready list and is
 * no longer counted as paused. */
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
