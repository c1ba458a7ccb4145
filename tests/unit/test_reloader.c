/* The reload thread (src/server/reloader.c): requests made during a reload
 * share the next one; a stop abandons a reload that builds (never
 * published, discarded by its thread); a request after a stop is answered
 * at once. The build is held at a gate the test opens. */
#include "unit.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "reloader.h"

struct fake {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int entered;   /* builds started */
	int opened;    /* builds let through */
	int published; /* publishes */
	int discarded;
	int counted_ok, counted_failed;
	int fail_next; /* the next build fails */
};

static struct fake F;

static void *prepare(void *arg)
{
	static int job;
	return &job;
}

static int build(void *job, char *err, size_t cap)
{
	pthread_mutex_lock(&F.lock);
	int me = ++F.entered;
	pthread_cond_broadcast(&F.cond);
	while (F.opened < me)
		pthread_cond_wait(&F.cond, &F.lock);
	int fail = F.fail_next;
	F.fail_next = 0;
	pthread_mutex_unlock(&F.lock);
	if (fail) {
		snprintf(err, cap, "site.rules:2:8: broken");
		return -1;
	}
	return 0;
}

static int publish(void *arg, void *job, char *err, size_t cap, size_t *nrules)
{
	pthread_mutex_lock(&F.lock);
	*nrules = (size_t)(100 + ++F.published);
	pthread_mutex_unlock(&F.lock);
	return 0;
}

static void discard(void *job)
{
	pthread_mutex_lock(&F.lock);
	F.discarded++;
	pthread_mutex_unlock(&F.lock);
}

static void counted(void *arg, int rc)
{
	if (rc)
		F.counted_failed++;
	else
		F.counted_ok++;
}

static const struct reload_ops OPS = {
        .prepare = prepare,
        .build = build,
        .publish = publish,
        .discard = discard,
        .counted = counted,
};

static struct reloader *start(void)
{
	char err[200];
	struct reloader *r;

	memset(&F, 0, sizeof(F));
	pthread_mutex_init(&F.lock, NULL);
	pthread_cond_init(&F.cond, NULL);
	r = reloader_start(&OPS, err, sizeof(err));
	assert_non_null(r);
	return r;
}

static void wait_entered(int n)
{
	pthread_mutex_lock(&F.lock);
	while (F.entered < n)
		pthread_cond_wait(&F.cond, &F.lock);
	pthread_mutex_unlock(&F.lock);
}

static void open_gate(int n)
{
	pthread_mutex_lock(&F.lock);
	F.opened = n;
	pthread_cond_broadcast(&F.cond);
	pthread_mutex_unlock(&F.lock);
}

static void wait_done(struct reload_wait *w)
{
	for (int i = 0; i < 5000 && !atomic_load(&w->done); i++) {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	assert_true(atomic_load(&w->done));
}

static void test_requests_during_a_reload_share_the_next(void **state)
{
	struct reloader *r = start();
	struct reload_wait w1 = {0}, w2 = {0}, w3 = {0};

	reloader_request(r, &w1);
	wait_entered(1);
	/* While the first builds: two waiters and a signal, one more reload. */
	reloader_request(r, &w2);
	reloader_request(r, NULL);
	reloader_request(r, &w3);
	assert_false(atomic_load(&w1.done));
	assert_int_equal(w1.ticket, 1);
	assert_int_equal(w2.ticket, 2);
	assert_int_equal(w3.ticket, 2);
	open_gate(1);
	wait_done(&w1);
	assert_int_equal(w1.rc, 0);
	assert_int_equal(w1.nrules, 101);
	assert_false(atomic_load(&w2.done)); /* the second reload waits at the gate */
	wait_entered(2);
	pthread_mutex_lock(&F.lock);
	F.fail_next = 1;
	pthread_mutex_unlock(&F.lock);
	open_gate(2);
	wait_done(&w2);
	wait_done(&w3);
	assert_int_equal(w2.rc, -1);
	assert_string_equal(w2.err, "site.rules:2:8: broken");
	assert_int_equal(w3.rc, -1);
	assert_true(reloader_finish(r, 2000));
	assert_int_equal(F.entered, 2);
	assert_int_equal(F.published, 1);
	assert_int_equal(F.discarded, 1);
	assert_int_equal(F.counted_ok, 1);
	assert_int_equal(F.counted_failed, 1);
}

static void test_stop_abandons_a_build(void **state)
{
	struct reloader *r = start();
	struct reload_wait w = {0}, late = {0};

	reloader_request(r, &w);
	wait_entered(1);
	assert_true(reloader_stop(r)); /* abandoned: it was building */
	reloader_request(r, &late);    /* after the stop: answered at once */
	assert_true(atomic_load(&late.done));
	assert_int_equal(late.rc, -1);
	assert_string_equal(late.err, "the server is stopping");
	/* Still compiling: not joinable yet. */
	assert_false(reloader_finish(r, 50));
	open_gate(1);
	/* It ends, discarding what it built; nothing was published, and the
	 * waiter it had was let go without an answer. */
	assert_true(reloader_finish(r, 2000));
	assert_int_equal(F.published, 0);
	assert_int_equal(F.discarded, 1);
	assert_int_equal(F.counted_ok + F.counted_failed, 0);
	assert_false(atomic_load(&w.done));
}

static void test_forget_and_idle_stop(void **state)
{
	struct reloader *r = start();
	struct reload_wait w = {0};

	reloader_request(r, &w);
	wait_entered(1);
	reloader_forget(r, &w); /* its connection closed */
	open_gate(1);
	reloader_stop(r); /* published or abandoned, whichever came first */
	assert_true(reloader_finish(r, 2000));
	assert_false(atomic_load(&w.done));
	assert_int_equal(F.published + F.discarded, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_requests_during_a_reload_share_the_next),
	        cmocka_unit_test(test_stop_abandons_a_build),
	        cmocka_unit_test(test_forget_and_idle_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
