/* detour server: one worker's fairness and memory budgets, see budget.h. */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdlib.h>

#include "budget.h"
#include "log.h"
#include "stats.h"

#define SHED_LOG_MS 1000 /* at most one shed line a second; the metric counts them all */

static struct conn *of_link(struct conn_link *l)
{
	return (struct conn *)(void *)((char *)l - offsetof(struct conn, ready));
}

void budget_init(struct conns *cs)
{
	cs->ready.next = cs->ready.prev = &cs->ready;
}

static void link_unlink(struct conn_link *l)
{
	if (l->next == NULL)
		return;
	l->prev->next = l->next;
	l->next->prev = l->prev;
	l->next = l->prev = NULL;
}

void budget_ready_push(struct conn *c)
{
	struct conn_link *head = &c->cs->ready;

	if (c->ready.next != NULL)
		return;
	c->ready.prev = head->prev;
	c->ready.next = head;
	head->prev->next = &c->ready;
	head->prev = &c->ready;
}

void budget_ready_take(struct conns *cs, struct conn_link *into)
{
	into->next = into->prev = into;
	if (budget_ready_empty(cs))
		return;
	into->next = cs->ready.next;
	into->prev = cs->ready.prev;
	into->next->prev = into;
	into->prev->next = into;
	cs->ready.next = cs->ready.prev = &cs->ready;
}

struct conn *budget_ready_pop(struct conn_link *l)
{
	struct conn_link *first = l->next;

	if (first == l)
		return NULL;
	link_unlink(first);
	return of_link(first);
}

/* c holds delta bytes more (or fewer): counted for c and the worker. By
 * difference, not from c's buffer sizes, so that any buffer grown for c
 * (c->in, c->out, an HTTP/2 stream's) counts the same way. */
static void charge(struct conn *c, int64_t delta)
{
	struct conns *cs = c->cs;

	c->held = (uint32_t)((int64_t)c->held + delta);
	cs->buf_held = (uint64_t)((int64_t)cs->buf_held + delta);
	if (c->shed)
		cs->buf_shed_held = (uint64_t)((int64_t)cs->buf_shed_held + delta);
	atomic_store_explicit(&cs->st->buf_held, cs->buf_held, memory_order_relaxed);
}

void budget_adopt(struct conn *c)
{
	c->held = 0;
	c->paused = false;
	c->ready.next = c->ready.prev = NULL;
	/* From the free list: its buffers were shrunk back, unless that
	 * realloc failed. */
	charge(c, (int64_t)(c->in_cap - CONN_IN_INITIAL) + (c->out_cap - CONN_OUT_INITIAL));
}

void budget_forget(struct conn *c)
{
	struct conns *cs = c->cs;

	link_unlink(&c->ready);
	cs->buf_held -= c->held;
	if (c->shed)
		cs->buf_shed_held -= c->held;
	c->held = 0;
	c->shed = false;
	budget_resume(c);
	atomic_store_explicit(&cs->st->buf_held, cs->buf_held, memory_order_relaxed);
}

/* The live connection holding the most (not one shed already), or NULL.
 * A scan of every list: it runs only when the budget is exceeded, once per
 * growth refused or connection shed. */
static struct conn *heaviest(struct conns *cs)
{
	struct conn *best = NULL;

	for (int list = LIST_ACTIVE; list < LIST_COUNT; list++) {
		struct conn *head = &cs->lists[list];
		for (struct conn *c = head->next; c != head; c = c->next)
			if (!c->shed && c->held > 0 && (best == NULL || c->held > best->held))
				best = c;
	}
	return best;
}

static void shed_log(struct conn *c, uint32_t held)
{
	struct conns *cs = c->cs;
	char peer[INET6_ADDRSTRLEN] = "?";

	stats_add64(&cs->st->shed_memory, 1);
	if (cs->shed_log_ms != 0 && cs->now_ms < cs->shed_log_ms + SHED_LOG_MS) {
		cs->shed_unlogged++;
		return;
	}
	if (c->peer_sa.sa.sa_family == AF_INET)
		inet_ntop(AF_INET, &c->peer_sa.in.sin_addr, peer, sizeof(peer));
	else if (c->peer_sa.sa.sa_family == AF_INET6)
		inet_ntop(AF_INET6, &c->peer_sa.in6.sin6_addr, peer, sizeof(peer));
	log_warn("worker %u: closing the connection of %s: its buffers hold %u bytes, the "
	         "worker's %llu of limit buffer-memory %llu (hard cap %llu; %u more closed since "
	         "the last line)",
	         cs->id, peer, held, (unsigned long long)cs->buf_held,
	         (unsigned long long)cs->buf_limit, (unsigned long long)budget_hard(cs),
	         cs->shed_unlogged);
	cs->shed_log_ms = cs->now_ms ? cs->now_ms : 1;
	cs->shed_unlogged = 0;
}

void budget_pause(struct conn *c)
{
	struct conns *cs = c->cs;

	if (c->paused)
		return;
	c->paused = true;
	cs->npaused++;
	stats_add64(&cs->st->paused_memory, 1);
	atomic_store_explicit(&cs->st->paused, cs->npaused, memory_order_relaxed);
}

void budget_resume(struct conn *c)
{
	struct conns *cs = c->cs;

	if (!c->paused)
		return;
	c->paused = false;
	cs->npaused--;
	atomic_store_explicit(&cs->st->paused, cs->npaused, memory_order_relaxed);
}

bool budget_take(struct conn *c, uint32_t n)
{
	struct conns *cs = c->cs;

	if (cs->buf_held - cs->buf_shed_held + n > budget_hard(cs)) {
		struct conn *v = heaviest(cs);
		if (v == NULL || v == c || v->held <= c->held + n) {
			shed_log(c, c->held + n);
			return false;
		}
		/* Closed by conn_run_ready after the batch; until then it is not
		 * read from and its bytes count as going. */
		shed_log(v, v->held);
		v->shed = true;
		cs->buf_shed_held += v->held;
		budget_ready_push(v);
	}
	charge(c, n);
	return true;
}

void budget_give(struct conn *c, uint32_t n)
{
	charge(c, -(int64_t)n);
}

bool budget_grow(struct conn *c, char **buf, uint32_t *cap, uint32_t want)
{
	char *p;

	if (*cap >= want || !budget_take(c, want - *cap))
		return false;
	p = realloc(*buf, want);
	if (p == NULL) {
		budget_give(c, want - *cap);
		return false;
	}
	*buf = p;
	*cap = want;
	/* Past the soft limit the growth is granted, but the connection that
	 * took it answers no more requests until this answer has drained. */
	if (buf == &c->out && budget_over(c->cs))
		budget_pause(c);
	return true;
}

void budget_shrink(struct conn *c, char **buf, uint32_t *cap, uint32_t want)
{
	char *p;

	if (*cap <= want)
		return;
	p = realloc(*buf, want);
	if (p != NULL) {
		budget_give(c, *cap - want);
		*buf = p;
		*cap = want;
	}
}
