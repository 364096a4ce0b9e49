/* replay_defer.c — token_replay checks that do not wait (see replay_defer.h).
 *
 * Each worker's tickets are a singly linked queue under the worker's own mutex: the worker
 * appends at the tail and pops released tickets at the head; the answering thread (under `mu`,
 * one at a time) advances `undecided`. The answering takes the smallest seq among the queues'
 * first unanswered tickets, S; it may answer it once every other worker has passed S. The
 * queues are read again after the workers' positions: a ticket filed before a worker passed S
 * is then seen (the worker appends under its mutex before it publishes its position), so a
 * ticket of an earlier packet is never overtaken. The first unanswered ticket's seq is kept in
 * an atomic per queue (first_seq, written under the queue's mutex), so that search takes no
 * lock: only taking the ticket does.
 */
#include "replay_defer.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

struct rd_queue {
    pthread_mutex_t mu;
    struct rd_ticket *head, *tail, *undecided;
    size_t n;                                 /* filed and not popped */
    /* undecided's seq (UINT64_MAX: none), stored under mu and read without it, so that looking
     * for the first unanswered ticket takes no queue's lock */
    _Atomic uint64_t first_seq;
    char pad[64];
};

struct replay_defer {
    struct replay *rp;
    size_t nw;
    replay_defer_passed_fn passed;
    void *arg;
    pthread_mutex_t mu;                       /* one answering thread at a time */
    struct rd_queue *q;
};

struct replay_defer *replay_defer_new(struct replay *rp, size_t nworkers,
                                      replay_defer_passed_fn passed, void *arg)
{
    struct replay_defer *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->q = calloc(nworkers, sizeof(*d->q));
    if (!d->q) {
        free(d);
        return NULL;
    }
    d->rp = rp;
    d->nw = nworkers;
    d->passed = passed;
    d->arg = arg;
    pthread_mutex_init(&d->mu, NULL);
    for (size_t i = 0; i < nworkers; i++) {
        pthread_mutex_init(&d->q[i].mu, NULL);
        atomic_init(&d->q[i].first_seq, UINT64_MAX);
    }
    return d;
}

void replay_defer_free(struct replay_defer *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nw; i++) {
        struct rd_ticket *t = d->q[i].head;
        while (t) { /* none when every ticket was released; freed whole if not */
            struct rd_ticket *n = t->next;
            eve_hold_free(&t->hold[0]);
            eve_hold_free(&t->hold[1]);
            eve_lazy_reset(&t->lazy);
            free(t);
            t = n;
        }
        pthread_mutex_destroy(&d->q[i].mu);
    }
    pthread_mutex_destroy(&d->mu);
    free(d->q);
    free(d);
}

/* The smallest seq among the queues' first unanswered tickets, and which queue; 0 if none. */
static int first_unanswered(struct replay_defer *d, size_t *which, uint64_t *seq)
{
    uint64_t best = UINT64_MAX;
    size_t at = 0;
    for (size_t i = 0; i < d->nw; i++) {
        uint64_t s = atomic_load(&d->q[i].first_seq);
        if (s < best) {
            best = s;
            at = i;
        }
    }
    *which = at;
    *seq = best;
    return best != UINT64_MAX;
}

static void answer_all(struct replay_defer *d, int force)
{
    size_t w;
    uint64_t S;
    while (first_unanswered(d, &w, &S)) {
        if (!force) {
            for (size_t i = 0; i < d->nw; i++)
                if (i != w && !d->passed(d->arg, i, S))
                    return;
            /* After the positions: what a worker filed before it passed S is in its queue. */
            size_t w2;
            uint64_t S2;
            if (first_unanswered(d, &w2, &S2) && (w2 != w || S2 != S))
                continue;
        }
        struct rd_queue *q = &d->q[w];
        pthread_mutex_lock(&q->mu);
        struct rd_ticket *t = q->undecided;
        q->undecided = t->next;
        atomic_store(&q->first_seq, t->next ? t->next->seq : UINT64_MAX);
        pthread_mutex_unlock(&q->mu);
        int r = replay_check(d->rp, t->digest, t->client, t->now);
        /* Last: once answered, the ticket is its worker's to release and free. */
        atomic_store_explicit(&t->answer, r ? RD_REPLAY : RD_NO, memory_order_release);
    }
}

void replay_defer_run(struct replay_defer *d, int force)
{
    if (force) {
        pthread_mutex_lock(&d->mu);
    } else if (pthread_mutex_trylock(&d->mu) != 0) {
        return;
    }
    answer_all(d, force);
    pthread_mutex_unlock(&d->mu);
}

struct rd_ticket *replay_defer_file(struct replay_defer *d, size_t w, uint64_t seq,
                                    const uint8_t digest[32], const uint8_t client[16],
                                    int64_t now)
{
    struct rd_ticket *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->seq = seq;
    memcpy(t->digest, digest, 32);
    memcpy(t->client, client, 16);
    t->now = now;
    atomic_init(&t->answer, RD_PENDING);
    struct rd_queue *q = &d->q[w];
    pthread_mutex_lock(&q->mu);
    if (q->tail)
        q->tail->next = t;
    else
        q->head = t;
    q->tail = t;
    if (!q->undecided) {
        q->undecided = t;
        atomic_store(&q->first_seq, seq);
    }
    q->n++;
    pthread_mutex_unlock(&q->mu);
    replay_defer_run(d, 0);
    return t;
}

void replay_defer_wait(struct replay_defer *d, struct rd_ticket *t)
{
    while (atomic_load_explicit(&t->answer, memory_order_acquire) == RD_PENDING) {
        replay_defer_run(d, 0);
        if (atomic_load_explicit(&t->answer, memory_order_acquire) == RD_PENDING)
            sched_yield();
    }
}

struct rd_ticket *replay_defer_front(struct replay_defer *d, size_t w)
{
    struct rd_queue *q = &d->q[w];
    pthread_mutex_lock(&q->mu);
    struct rd_ticket *t = q->head;
    pthread_mutex_unlock(&q->mu);
    if (t && atomic_load_explicit(&t->answer, memory_order_acquire) != RD_PENDING)
        return t;
    return NULL;
}

void replay_defer_pop(struct replay_defer *d, size_t w)
{
    struct rd_queue *q = &d->q[w];
    pthread_mutex_lock(&q->mu);
    struct rd_ticket *t = q->head;
    if (t) {
        q->head = t->next;
        if (!q->head)
            q->tail = NULL;
        q->n--;
    }
    pthread_mutex_unlock(&q->mu);
    free(t);
}

size_t replay_defer_pending(struct replay_defer *d, size_t w)
{
    struct rd_queue *q = &d->q[w];
    pthread_mutex_lock(&q->mu);
    size_t n = q->n;
    pthread_mutex_unlock(&q->mu);
    return n;
}
