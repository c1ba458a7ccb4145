/* Unit tests for src/server/budget.c: the ready list (one turn each, in
 * order; a connection queued during a pass waits for the next one; a closed
 * one leaves it) and the buffer-memory accounting (growth counted and given
 * back; past the soft limit the connection growing its output is paused;
 * past the hard cap the heaviest other connection is shed, or the one asking
 * is refused when it is the heaviest), without sockets. */
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "budget.h"

#define N 4

struct fixture {
	struct conns cs;
	struct wstats st;
	struct conn c[N];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	for (int i = 0; i < LIST_COUNT; i++)
		f->cs.lists[i].next = f->cs.lists[i].prev = &f->cs.lists[i];
	budget_init(&f->cs);
	f->cs.st = &f->st;
	f->cs.buf_limit = 1 << 20;
	for (int i = 0; i < N; i++) {
		struct conn *c = &f->c[i];
		struct conn *head = &f->cs.lists[LIST_ACTIVE];
		c->cs = &f->cs;
		c->in = malloc(CONN_IN_INITIAL);
		c->out = malloc(CONN_OUT_INITIAL);
		c->in_cap = CONN_IN_INITIAL;
		c->out_cap = CONN_OUT_INITIAL;
		c->peer_sa.sa.sa_family = AF_UNSPEC;
		budget_adopt(c);
		/* on the active list, in order */
		c->prev = head->prev;
		c->next = head;
		head->prev->next = c;
		head->prev = c;
		c->list = LIST_ACTIVE;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < N; i++) {
		free(f->c[i].in);
		free(f->c[i].out);
	}
	free(f);
	return 0;
}

static void test_ready_list(void **state)
{
	struct fixture *f = *state;
	struct conn_link pass;

	assert_true(budget_ready_empty(&f->cs));
	budget_ready_push(&f->c[2]);
	budget_ready_push(&f->c[0]);
	budget_ready_push(&f->c[2]); /* already owed a turn: no second one */
	budget_ready_push(&f->c[1]);
	assert_false(budget_ready_empty(&f->cs));

	budget_ready_take(&f->cs, &pass);
	assert_true(budget_ready_empty(&f->cs)); /* a pass starts from an empty list */
	assert_ptr_equal(budget_ready_pop(&pass), &f->c[2]);
	budget_ready_push(&f->c[2]); /* queued during the pass: the next one */
	budget_forget(&f->c[1]);     /* closed while queued: it leaves the list */
	assert_ptr_equal(budget_ready_pop(&pass), &f->c[0]);
	assert_null(budget_ready_pop(&pass));

	budget_ready_take(&f->cs, &pass);
	assert_ptr_equal(budget_ready_pop(&pass), &f->c[2]);
	assert_null(budget_ready_pop(&pass));
	budget_ready_take(&f->cs, &pass);
	assert_null(budget_ready_pop(&pass));
}

static void test_growth_is_counted(void **state)
{
	struct fixture *f = *state;
	struct conn *c = &f->c[0];

	assert_true(budget_grow(c, &c->out, &c->out_cap, 200000));
	assert_int_equal(c->out_cap, 200000);
	assert_int_equal(f->cs.buf_held, 200000 - CONN_OUT_INITIAL);
	assert_true(budget_grow(c, &c->in, &c->in_cap, 32769));
	assert_int_equal(f->cs.buf_held, 200000 - CONN_OUT_INITIAL + 32769 - CONN_IN_INITIAL);
	assert_int_equal(f->st.buf_held, f->cs.buf_held);
	assert_false(budget_grow(c, &c->in, &c->in_cap, 32769)); /* not larger: no growth */

	budget_shrink(c, &c->out, &c->out_cap, CONN_OUT_INITIAL);
	assert_int_equal(f->cs.buf_held, 32769 - CONN_IN_INITIAL);
	/* A buffer of c's own (an HTTP/2 stream's) counts the same way. */
	assert_true(budget_take(c, 5000));
	assert_int_equal(c->held, 32769 - CONN_IN_INITIAL + 5000);
	budget_give(c, 5000);
	assert_int_equal(f->cs.buf_held, 32769 - CONN_IN_INITIAL);
	budget_forget(c);
	assert_int_equal(f->cs.buf_held, 0);
	assert_int_equal(f->st.buf_held, 0);
}

static void test_past_the_soft_limit_pauses(void **state)
{
	struct fixture *f = *state;
	struct conn *a = &f->c[0], *b = &f->c[1];

	/* a: 592 KiB, under the 1 MiB soft limit: nothing paused. */
	assert_true(budget_grow(a, &a->out, &a->out_cap, 600 * 1024));
	assert_false(a->paused);
	/* b takes the worker past it: granted (under the 2 MiB hard cap), and
	 * b, which holds the growth, is paused; nothing is shed. */
	assert_true(budget_grow(b, &b->out, &b->out_cap, 600 * 1024));
	assert_true(b->paused);
	assert_false(a->paused);
	assert_false(b->shed);
	assert_int_equal(f->st.paused_memory, 1);
	assert_int_equal(f->st.paused, 1);
	assert_int_equal(f->st.shed_memory, 0);
	assert_true(budget_over(&f->cs));
	/* An input growth past it does not pause (the head must be read). */
	assert_true(budget_grow(a, &a->in, &a->in_cap, 32769));
	assert_false(a->paused);
	budget_pause(b); /* already paused: not counted twice */
	assert_int_equal(f->st.paused_memory, 1);

	/* b drained: resumed, and its growth given back. */
	budget_resume(b);
	assert_false(b->paused);
	assert_int_equal(f->st.paused, 0);
	budget_shrink(b, &b->out, &b->out_cap, CONN_OUT_INITIAL);
	assert_false(budget_over(&f->cs));

	/* A paused connection that closes is no longer counted. */
	budget_pause(a);
	assert_int_equal(f->st.paused, 1);
	assert_int_equal(f->st.paused_memory, 2);
	budget_forget(a);
	assert_false(a->paused);
	assert_int_equal(f->st.paused, 0);
}

static void test_past_the_hard_cap_sheds_the_heaviest(void **state)
{
	struct fixture *f = *state;
	struct conn *a = &f->c[0], *b = &f->c[1], *c = &f->c[2];

	/* a: 792 KiB, b: 1192 KiB; 1984 KiB of the 2 MiB hard cap held. */
	assert_true(budget_grow(a, &a->out, &a->out_cap, 800 * 1024));
	assert_true(budget_grow(b, &b->out, &b->out_cap, 1200 * 1024));
	assert_int_equal(f->st.shed_memory, 0);

	/* c asks for 196 KiB more: over the hard cap; b holds the most and
	 * more than c would: b is shed (closed after the batch), c grows. */
	assert_true(budget_grow(c, &c->out, &c->out_cap, 204 * 1024));
	assert_true(b->shed);
	assert_false(a->shed);
	assert_int_equal(f->st.shed_memory, 1);
	assert_int_equal(f->cs.buf_shed_held, 1200 * 1024 - CONN_OUT_INITIAL);
	/* it waits on the ready list to be closed */
	struct conn_link pass;
	budget_ready_take(&f->cs, &pass);
	assert_ptr_equal(budget_ready_pop(&pass), b);
	budget_forget(b); /* conn_close */
	assert_int_equal(f->cs.buf_shed_held, 0);
	assert_int_equal(f->cs.buf_held, (800 + 204) * 1024 - 2 * CONN_OUT_INITIAL);

	/* a asks for 1100 KiB more (1892 KiB in all): it would hold the
	 * most, so its growth is refused and nothing is shed. */
	assert_false(budget_grow(a, &a->in, &a->in_cap, 1100 * 1024 + CONN_IN_INITIAL));
	assert_int_equal(a->in_cap, CONN_IN_INITIAL);
	assert_false(a->shed);
	assert_false(c->shed);
	assert_int_equal(f->st.shed_memory, 2);
	assert_int_equal(f->cs.buf_held, (800 + 204) * 1024 - 2 * CONN_OUT_INITIAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_ready_list, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_growth_is_counted, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_past_the_soft_limit_pauses, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_past_the_hard_cap_sheds_the_heaviest, setup,
	                                        teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
