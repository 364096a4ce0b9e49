/* thread.c — helper threads started with the control signals blocked (see thread.h for why).
 *
 * Pipeline: start-up only (live capture's threads, the reload control thread); never per
 * packet. Owns nothing.
 */
#include "thread.h"

void thread_block_signals(sigset_t *old)
{
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &block, old);
}

int thread_start(pthread_t *th, void *(*fn)(void *), void *arg)
{
    sigset_t old;
    thread_block_signals(&old);
    int rc = pthread_create(th, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}
