/* timewait.h — bounded waits for the sensor's threads (capture workers, the reload control
 * thread, the asynchronous outputs' writers), all measured on CLOCK_MONOTONIC so that a step of
 * the wall clock (NTP, an operator's `date -s`) can neither stretch nor cut short a sleep.
 *
 * A condition variable waited on here must have been set up by timewait_cond_init(): a default
 * one measures its deadline on CLOCK_REALTIME and would read a monotonic deadline as long past. */
#ifndef TW_TIMEWAIT_H
#define TW_TIMEWAIT_H

#include <pthread.h>
#include <stdint.h>

/* pthread_cond_init with CLOCK_MONOTONIC. Returns pthread_cond_init's result (0 or an errno
 * value); the caller destroys it with pthread_cond_destroy. */
int timewait_cond_init(pthread_cond_t *cv);

/* CLOCK_MONOTONIC in nanoseconds: the clock every deadline here is on. */
uint64_t timewait_now_ns(void);

/* With mu held: waits on cv until a signal, a spurious wakeup or until_ns (timewait_now_ns
 * time) passes, and returns with mu held again. Returns 0 or ETIMEDOUT, as
 * pthread_cond_timedwait does; callers recheck their predicate either way. */
int timewait_until(pthread_cond_t *cv, pthread_mutex_t *mu, uint64_t until_ns);

/* timewait_until for ms milliseconds from now. */
int timewait_for_ms(pthread_cond_t *cv, pthread_mutex_t *mu, unsigned ms);

/* Sleeps ms milliseconds, or less when a signal arrives (callers that poll a flag set by a
 * signal handler rely on that). */
void timewait_sleep_ms(unsigned ms);

#endif
