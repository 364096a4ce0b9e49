/* test_thread.c — helper threads start with SIGINT, SIGTERM and SIGHUP blocked (so the signals
 * reach the thread whose loop reads the handlers' flags), the starter's own mask is left as it
 * was, and thread_block_signals hands back the mask it replaced.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>

#include "thread.h"

static void *read_mask(void *arg)
{
    pthread_sigmask(SIG_SETMASK, NULL, arg);
    return NULL;
}

static void test_start_blocks_in_thread_only(void **state)
{
    (void)state;
    sigset_t none, before, after, inside;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, &before);
    pthread_t th;
    assert_int_equal(thread_start(&th, read_mask, &inside), 0);
    pthread_join(th, NULL);
    pthread_sigmask(SIG_SETMASK, NULL, &after);
    assert_int_equal(sigismember(&inside, SIGINT), 1);
    assert_int_equal(sigismember(&inside, SIGTERM), 1);
    assert_int_equal(sigismember(&inside, SIGHUP), 1);
    assert_int_equal(sigismember(&inside, SIGUSR1), 0);
    assert_int_equal(sigismember(&after, SIGINT), 0);
    assert_int_equal(sigismember(&after, SIGTERM), 0);
    assert_int_equal(sigismember(&after, SIGHUP), 0);
    pthread_sigmask(SIG_SETMASK, &before, NULL);
}

static void test_block_returns_old(void **state)
{
    (void)state;
    sigset_t start, old, now;
    sigemptyset(&start);
    sigaddset(&start, SIGUSR2);
    pthread_sigmask(SIG_SETMASK, &start, NULL);
    thread_block_signals(&old);
    assert_int_equal(sigismember(&old, SIGUSR2), 1);
    assert_int_equal(sigismember(&old, SIGINT), 0);
    pthread_sigmask(SIG_SETMASK, NULL, &now);
    assert_int_equal(sigismember(&now, SIGUSR2), 1);
    assert_int_equal(sigismember(&now, SIGINT), 1);
    assert_int_equal(sigismember(&now, SIGTERM), 1);
    assert_int_equal(sigismember(&now, SIGHUP), 1);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_sigmask(SIG_SETMASK, NULL, &now);
    assert_int_equal(sigismember(&now, SIGINT), 0);
    sigemptyset(&start);
    pthread_sigmask(SIG_SETMASK, &start, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_blocks_in_thread_only),
        cmocka_unit_test(test_block_returns_old),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
