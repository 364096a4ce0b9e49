/* test_timewait.c — the threads' bounded waits: a wait with nobody signalling lasts its time
 * (not less, and not the seconds a clock mix-up would give), a past deadline returns at once, a
 * signal on the condition variable ends the wait early, and a sleep is cut short by a signal
 * (the capture control loop depends on that to see SIGINT promptly).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "timewait.h"

#define MS 1000000ull

struct pair {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int flag;
};

static void pair_init(struct pair *p)
{
    pthread_mutex_init(&p->mu, NULL);
    assert_int_equal(timewait_cond_init(&p->cv), 0);
    p->flag = 0;
}

static void pair_free(struct pair *p)
{
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
}

static void test_now_monotonic(void **state)
{
    (void)state;
    uint64_t a = timewait_now_ns();
    for (int i = 0; i < 1000; i++) {
        uint64_t b = timewait_now_ns();
        assert_true(b >= a);
        a = b;
    }
    assert_true(a > 0);
}

static void test_wait_times_out(void **state)
{
    (void)state;
    struct pair p;
    pair_init(&p);
    pthread_mutex_lock(&p.mu);
    uint64_t t0 = timewait_now_ns();
    int rc;
    /* Spurious wakeups are allowed: wait until the deadline really passed. */
    uint64_t until = t0 + 30 * MS;
    while ((rc = timewait_until(&p.cv, &p.mu, until)) == 0)
        ;
    uint64_t t1 = timewait_now_ns();
    pthread_mutex_unlock(&p.mu);
    assert_int_equal(rc, ETIMEDOUT);
    assert_true(t1 - t0 >= 30 * MS);
    assert_true(t1 - t0 < 2000 * MS);

    pthread_mutex_lock(&p.mu);
    t0 = timewait_now_ns();
    rc = timewait_for_ms(&p.cv, &p.mu, 20);
    t1 = timewait_now_ns();
    pthread_mutex_unlock(&p.mu);
    if (rc == ETIMEDOUT)
        assert_true(t1 - t0 >= 20 * MS);
    else
        assert_int_equal(rc, 0);
    assert_true(t1 - t0 < 2000 * MS);
    pair_free(&p);
}

static void test_past_deadline(void **state)
{
    (void)state;
    struct pair p;
    pair_init(&p);
    pthread_mutex_lock(&p.mu);
    uint64_t t0 = timewait_now_ns();
    assert_int_equal(timewait_until(&p.cv, &p.mu, t0 > 5 * MS ? t0 - 5 * MS : 0), ETIMEDOUT);
    assert_int_equal(timewait_for_ms(&p.cv, &p.mu, 0), ETIMEDOUT);
    pthread_mutex_unlock(&p.mu);
    assert_true(timewait_now_ns() - t0 < 1000 * MS);
    pair_free(&p);
}

static void *signaller(void *arg)
{
    struct pair *p = arg;
    timewait_sleep_ms(20);
    pthread_mutex_lock(&p->mu);
    p->flag = 1;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void test_signal_ends_wait(void **state)
{
    (void)state;
    struct pair p;
    pair_init(&p);
    pthread_t th;
    uint64_t t0 = timewait_now_ns();
    pthread_mutex_lock(&p.mu);
    assert_int_equal(pthread_create(&th, NULL, signaller, &p), 0);
    while (!p.flag)
        assert_int_equal(timewait_for_ms(&p.cv, &p.mu, 10000), 0);
    pthread_mutex_unlock(&p.mu);
    pthread_join(th, NULL);
    assert_true(timewait_now_ns() - t0 < 5000 * MS);
    pair_free(&p);
}

static void on_usr1(int sig)
{
    (void)sig;
}

struct kick {
    pthread_t target;
    atomic_int done;
};

/* Signals until the sleeper has woken: one signal sent before it fell asleep would be lost. */
static void *kicker(void *arg)
{
    struct kick *k = arg;
    while (!atomic_load(&k->done)) {
        timewait_sleep_ms(30);
        pthread_kill(k->target, SIGUSR1);
    }
    return NULL;
}

static void test_sleep(void **state)
{
    (void)state;
    uint64_t t0 = timewait_now_ns();
    timewait_sleep_ms(15);
    uint64_t t1 = timewait_now_ns();
    assert_true(t1 - t0 >= 15 * MS);
    assert_true(t1 - t0 < 2000 * MS);

    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr1; /* no SA_RESTART: the sleep returns early */
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
    struct kick k = {.target = pthread_self()};
    atomic_init(&k.done, 0);
    pthread_t th;
    t0 = timewait_now_ns();
    assert_int_equal(pthread_create(&th, NULL, kicker, &k), 0);
    timewait_sleep_ms(20000);
    t1 = timewait_now_ns();
    atomic_store(&k.done, 1);
    pthread_join(th, NULL);
    sigaction(SIGUSR1, &old, NULL);
    assert_true(t1 - t0 < 10000 * MS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_now_monotonic),
        cmocka_unit_test(test_wait_times_out),
        cmocka_unit_test(test_past_deadline),
        cmocka_unit_test(test_signal_ends_wait),
        cmocka_unit_test(test_sleep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
