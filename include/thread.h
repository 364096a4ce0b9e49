/* thread.h — starting the sensor's helper threads (capture, workers, the reload control thread)
 * so that SIGINT, SIGTERM and SIGHUP keep reaching the thread that handles them.
 *
 * The handlers only set flags that the main thread's loop reads, and a blocking read of a FIFO
 * given to -r must be interrupted by SIGINT/SIGTERM (capture.h): a signal delivered to some
 * other thread would do neither. A thread inherits its creator's mask, so blocking the three
 * around pthread_create is enough. */
#ifndef TW_THREAD_H
#define TW_THREAD_H

#include <pthread.h>
#include <signal.h>

/* Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and stores the mask it had in *old
 * (give it back with pthread_sigmask(SIG_SETMASK, old, NULL)). */
void thread_block_signals(sigset_t *old);

/* pthread_create(th, NULL, fn, arg) with those three blocked in the new thread; the caller's
 * mask is unchanged on return. Returns pthread_create's result (0 or an errno value). */
int thread_start(pthread_t *th, void *(*fn)(void *), void *arg);

#endif
