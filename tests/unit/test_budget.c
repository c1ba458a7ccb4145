/* Unit tests for src/server/budget.c: the ready list (one turn each, in
 * order; a connection queued during a pass waits for the next one; a closed
 * one leaves it) and the buffer-memory accounting (growth counted and given
 * back; past the limit the heaviest other connection is shed, or the one
 * asking is refused when it is the heaviest), without sockets. */
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
	budget_forget(c);
	assert_int_equal(f->cs.buf_held, 0);
	assert_int_equal(f->st.buf_held, 0);
}

static void test_over_the_limit_sheds_the_heaviest(void **state)
{
	struct fixture *f = *state;
	struct conn *a = &f->c[0], *b = &f->c[1], *c = &f->c[2];

	/* a: 392 KiB, b: 592 KiB; 984 KiB of 1 MiB held. */
	assert_true(budget_grow(a, &a->out, &a->out_cap, 400 * 1024));
	assert_true(budget_grow(b, &b->out, &b->out_cap, 600 * 1024));
	assert_int_equal(f->st.shed_memory, 0);

	/* c asks for 196 KiB more: over the limit; b holds the most and more
	 * than c would: b is shed (closed after the batch), c grows. */
	assert_true(budget_grow(c, &c->out, &c->out_cap, 204 * 1024));
	assert_true(b->shed);
	assert_false(a->shed);
	assert_int_equal(f->st.shed_memory, 1);
	assert_int_equal(f->cs.buf_shed_held, 600 * 1024 - CONN_OUT_INITIAL);
	/* it waits on the ready list to be closed */
	struct conn_link pass;
	budget_ready_take(&f->cs, &pass);
	assert_ptr_equal(budget_ready_pop(&pass), b);
	budget_forget(b); /* conn_close */
	assert_int_equal(f->cs.buf_shed_held, 0);
	assert_int_equal(f->cs.buf_held, (400 + 204) * 1024 - 2 * CONN_OUT_INITIAL);

	/* a asks for 480 KiB more (872 KiB in all): it would hold the most,
	 * so its growth is refused and nothing is shed. */
	assert_false(budget_grow(a, &a->in, &a->in_cap, 480 * 1024 + CONN_IN_INITIAL));
	assert_int_equal(a->in_cap, CONN_IN_INITIAL);
	assert_false(a->shed);
	assert_false(c->shed);
	assert_int_equal(f->st.shed_memory, 2);
	assert_int_equal(f->cs.buf_held, (400 + 204) * 1024 - 2 * CONN_OUT_INITIAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_ready_list, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_growth_is_counted, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_over_the_limit_sheds_the_heaviest, setup,
	                                        teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
