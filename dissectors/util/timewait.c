/* timewait.c — bounded condition-variable waits and sleeps on the monotonic clock (see
 * timewait.h for why monotonic).
 *
 * Pipeline: not on the packet path; the sensor's threads call it when they have nothing to do
 * (a worker with empty rings, the reload control thread between polls, an output writer that is
 * idle or backing off). Owns nothing; no state.
 */
#include "timewait.h"

#include <time.h>

#define NS_PER_S 1000000000ull

int timewait_cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t ca;
    int rc = pthread_condattr_init(&ca);
    if (rc != 0)
        return rc;
    rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(cv, &ca);
    pthread_condattr_destroy(&ca);
    return rc;
}

uint64_t timewait_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

int timewait_until(pthread_cond_t *cv, pthread_mutex_t *mu, uint64_t until_ns)
{
    struct timespec ts = {(time_t)(until_ns / NS_PER_S), (long)(until_ns % NS_PER_S)};
    return pthread_cond_timedwait(cv, mu, &ts);
}

int timewait_for_ms(pthread_cond_t *cv, pthread_mutex_t *mu, unsigned ms)
{
    return timewait_until(cv, mu, timewait_now_ns() + (uint64_t)ms * 1000000ull);
}

void timewait_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}
