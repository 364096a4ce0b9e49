/* output_async.c — the bounded queue and the writer thread in front of an asynchronous EVE sink
 * (sink.h): unix_dgram, unix_stream, syslog, redis.
 *
 * Pipeline: eve ─► output_write ─► [sink_async_push ─► ring ─► writer thread ─► sink_ops].
 *
 * The queue is a single-producer single-consumer byte ring of outputs.eve.queue-size bytes: the
 * producer is the worker owning the output (each worker has its own outputs), the consumer the
 * output's writer thread. A record takes 4 bytes of length plus its bytes, and may wrap around
 * the end of the ring. Head and tail are monotonic byte positions published with release/acquire
 * atomics, so the packet path copies the record in without a lock; it takes the mutex only to
 * signal the writer when the writer said it was about to sleep. A record that does not fit is
 * dropped and counted: the packet path never waits for the network.
 *
 * The writer peeks the record at the head, sends it, and only then frees its room: a record whose
 * send failed stays queued and is sent again after a reconnect, and the room a record holds
 * while the sink is down is counted as queue room used (the drop count is exact and independent
 * of thread timing). The writer connects as soon as it starts (a missing reader is reported at
 * start-up, and the first records do not wait for a connect); a failed connect or send
 * is retried after a backoff of 100 ms doubling to 5 s, reset by a successful send. Each loss and
 * each recovery is reported once on stderr (the sink's reason, never a record).
 *
 * A peer that is there but not reading (a send timed out, a full receive buffer: send returns 1)
 * is not a lost connection: the connection is kept, so a stream never carries half a record
 * followed by another one, and the same record is offered again after the backoff; the queue
 * fills and further records are dropped and counted. Said once per stall on stderr.
 *
 * At the end of a run sink_async_settle() waits for the queue to empty; at its deadline it asks
 * the writer to give up what is still queued (counted as dropped; a connection holding half a
 * record is closed; a record a stalled peer already took whole counts as written, as the sink's
 * abandon op says): only the writer moves head, so the request is a flag it acts on between
 * sends and during its backoff sleeps.
 *
 * sink_async_stop() lets the writer drain the queue for a bounded time, then joins it and counts
 * the records still queued as dropped.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink.h"
#include "thread.h"
#include "timewait.h"

#define BACKOFF_MIN_NS (100ull * 1000000ull)
#define BACKOFF_MAX_NS (5000ull * 1000000ull)
#define IDLE_WAIT_NS (200ull * 1000000ull) /* a missed wake-up costs at most this */

struct aq {
    char *ring;
    uint64_t cap;
    _Atomic uint64_t head, tail;   /* byte positions; head: writer's, tail: producer's */
    _Atomic uint64_t dropped, send_ok, send_fail, reconnects;
    _Atomic uint64_t kind_errors;  /* ops->errors() when the kind was destroyed */
    _Atomic int sleeping, stopping, destroyed;
    _Atomic int discard;           /* settle's request: drop everything queued (writer clears) */
    _Atomic uint64_t deadline_ns;  /* stop: drain until then (monotonic) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    int started;
    char *label;
    char *scratch;                 /* a record that wraps, made contiguous */
    size_t scratch_cap;
};

static void ring_put(struct aq *q, uint64_t pos, const void *src, size_t n)
{
    size_t off = (size_t)(pos % q->cap), first = (size_t)q->cap - off;
    if (first > n)
        first = n;
    memcpy(q->ring + off, src, first);
    memcpy(q->ring, (const char *)src + first, n - first);
}

static void ring_get(const struct aq *q, uint64_t pos, void *dst, size_t n)
{
    size_t off = (size_t)(pos % q->cap), first = (size_t)q->cap - off;
    if (first > n)
        first = n;
    memcpy(dst, q->ring + off, first);
    memcpy((char *)dst + first, q->ring, n - first);
}

int sink_async_push(struct sink *k, const char *rec, size_t len)
{
    struct aq *q = k->q;
    if (!q)
        return -1;
    uint64_t need = 4 + (uint64_t)len;
    uint64_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&q->head, memory_order_acquire);
    if (len > UINT32_MAX || need > q->cap - (tail - head)) {
        atomic_fetch_add_explicit(&q->dropped, 1, memory_order_relaxed);
        return -1;
    }
    uint32_t l32 = (uint32_t)len;
    ring_put(q, tail, &l32, 4);
    ring_put(q, tail + 4, rec, len);
    atomic_store_explicit(&q->tail, tail + need, memory_order_seq_cst);
    if (atomic_load_explicit(&q->sleeping, memory_order_seq_cst))
        sink_async_wake(k);
    return 0;
}

void sink_async_wake(struct sink *k)
{
    struct aq *q = k->q;
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

static int queue_empty(struct aq *q)
{
    return atomic_load_explicit(&q->head, memory_order_relaxed) ==
           atomic_load_explicit(&q->tail, memory_order_acquire);
}

/* The writer gives up the head record while the peer is stalled: a sink that already handed it
 * over whole (sink_ops.abandon) has it counted as sent; otherwise it stays queued and is dropped
 * with the rest. */
static void give_up_head(struct sink *k, struct aq *q)
{
    if (!k->ops->abandon || !k->ops->abandon(k))
        return;
    uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    uint32_t len;
    ring_get(q, head, &len, 4);
    atomic_store_explicit(&q->head, head + 4 + len, memory_order_release);
    atomic_fetch_add_explicit(&q->send_ok, 1, memory_order_relaxed);
}

/* Sleeps until `until` (monotonic ns), a stop, or (when wait_data) a push. */
static void writer_sleep(struct aq *q, uint64_t until, int wait_data)
{
    pthread_mutex_lock(&q->mu);
    atomic_store_explicit(&q->sleeping, wait_data, memory_order_seq_cst);
    if (!atomic_load_explicit(&q->stopping, memory_order_relaxed) &&
        !(wait_data && !queue_empty(q)))
        timewait_until(&q->cv, &q->mu, until);
    atomic_store_explicit(&q->sleeping, 0, memory_order_relaxed);
    pthread_mutex_unlock(&q->mu);
}

static int past_deadline(struct aq *q)
{
    return atomic_load_explicit(&q->stopping, memory_order_acquire) &&
           timewait_now_ns() >= atomic_load_explicit(&q->deadline_ns, memory_order_relaxed);
}

/* Backoff after a failure: sleeps, bounded by the stop deadline; doubles *backoff. */
static void backoff_sleep(struct aq *q, uint64_t *backoff)
{
    uint64_t until = timewait_now_ns() + *backoff;
    if (atomic_load_explicit(&q->stopping, memory_order_acquire)) {
        uint64_t d = atomic_load_explicit(&q->deadline_ns, memory_order_relaxed);
        if (d < until)
            until = d;
    }
    while (timewait_now_ns() < until && !past_deadline(q) && !atomic_load(&q->discard)) {
        writer_sleep(q, until, 0);
        if (atomic_load_explicit(&q->stopping, memory_order_acquire)) {
            uint64_t d = atomic_load_explicit(&q->deadline_ns, memory_order_relaxed);
            if (d < until)
                until = d;
        }
    }
    *backoff = *backoff * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : *backoff * 2;
}

static void *writer_main(void *arg)
{
    struct sink *k = arg;
    struct aq *q = k->q;
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, NULL);
    uint64_t backoff = BACKOFF_MIN_NS;
    int connected = 0, ever = 0, down = 0, stalled = 0;
    char err[512];
    for (;;) {
        if (past_deadline(q)) {
            if (stalled && connected)
                give_up_head(k, q);
            break;
        }
        if (atomic_load_explicit(&q->discard, memory_order_acquire)) {
            /* settle gave up: the records still queued are dropped; a stalled stream may hold
             * half of the head record, so its connection goes (the reader sees the cut, never a
             * record glued onto half of another) */
            if (stalled && connected) {
                give_up_head(k, q);
                k->ops->disconnect(k);
                connected = 0;
            }
            stalled = 0;
            uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
            uint64_t tail = atomic_load_explicit(&q->tail, memory_order_acquire), n = 0;
            while (head < tail) {
                uint32_t len;
                ring_get(q, head, &len, 4);
                head += 4 + (uint64_t)len;
                n++;
            }
            atomic_fetch_add_explicit(&q->dropped, n, memory_order_relaxed);
            atomic_store_explicit(&q->head, head, memory_order_release);
            atomic_store_explicit(&q->discard, 0, memory_order_release);
            continue;
        }
        if (!connected) {
            if (atomic_load_explicit(&q->stopping, memory_order_acquire) && queue_empty(q))
                break;
            err[0] = '\0';
            if (k->ops->connect(k, err, sizeof(err)) != 0) {
                if (!down)
                    fprintf(stderr, "tokenwatch: eve %s: %s; retrying in the background\n",
                            q->label, err[0] ? err : "cannot connect");
                down = 1;
                backoff_sleep(q, &backoff);
                continue;
            }
            connected = 1;
            if (ever)
                atomic_fetch_add_explicit(&q->reconnects, 1, memory_order_relaxed);
            if (down)
                fprintf(stderr, "tokenwatch: eve %s: connected%s\n", q->label,
                        ever ? " again" : "");
            ever = 1;
            down = 0;
        }
        if (queue_empty(q)) {
            if (atomic_load_explicit(&q->stopping, memory_order_acquire))
                break;
            writer_sleep(q, timewait_now_ns() + IDLE_WAIT_NS, 1);
            continue;
        }
        uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
        uint32_t len;
        ring_get(q, head, &len, 4);
        size_t off = (size_t)((head + 4) % q->cap);
        const char *rec = q->ring + off;
        if (off + len > q->cap) {
            if (len > q->scratch_cap) {
                char *s = realloc(q->scratch, len);
                if (!s) { /* cannot make it contiguous: lose this one record */
                    atomic_fetch_add_explicit(&q->dropped, 1, memory_order_relaxed);
                    atomic_store_explicit(&q->head, head + 4 + len, memory_order_release);
                    continue;
                }
                q->scratch = s;
                q->scratch_cap = len;
            }
            ring_get(q, head + 4, q->scratch, len);
            rec = q->scratch;
        }
        k->why[0] = '\0';
        int rc = k->ops->send(k, rec, len);
        if (rc == 0) {
            atomic_store_explicit(&q->head, head + 4 + len, memory_order_release);
            atomic_fetch_add_explicit(&q->send_ok, 1, memory_order_relaxed);
            backoff = BACKOFF_MIN_NS;
            if (stalled)
                fprintf(stderr, "tokenwatch: eve %s: the reader takes records again\n", q->label);
            stalled = 0;
            continue;
        }
        if (rc > 0) {
            if (!stalled)
                fprintf(stderr, "tokenwatch: eve %s: %s; records wait in the queue (dropped and "
                        "counted when it is full)\n", q->label,
                        k->why[0] ? k->why : "the reader is not reading");
            stalled = 1;
            backoff_sleep(q, &backoff);
            continue;
        }
        atomic_fetch_add_explicit(&q->send_fail, 1, memory_order_relaxed);
        k->ops->disconnect(k);
        connected = 0;
        stalled = 0;
        if (!down)
            fprintf(stderr, "tokenwatch: eve %s: %s; retrying in the background\n", q->label,
                    k->why[0] ? k->why : "connection lost");
        down = 1;
        backoff_sleep(q, &backoff);
    }
    if (connected)
        k->ops->disconnect(k);
    return NULL;
}

int sink_async_start(struct sink *k, size_t queue_bytes, const char *label, char *err,
                     size_t errlen)
{
    k->q = NULL;
    k->priv = NULL;
    if (k->ops->init(k, k->cfg, err, errlen) != 0)
        return -1;
    struct aq *q = calloc(1, sizeof(*q));
    if (!q)
        goto oom;
    k->q = q;
    q->cap = queue_bytes < 64 ? 64 : queue_bytes;
    q->ring = malloc((size_t)q->cap);
    q->label = strdup(label ? label : k->ops->name);
    if (!q->ring || !q->label)
        goto oom;
    pthread_mutex_init(&q->mu, NULL);
    timewait_cond_init(&q->cv);
    /* SIGINT/SIGTERM/SIGHUP blocked in the writer: they must reach the thread reading the
     * capture (a FIFO given to -r is interrupted by them) */
    int rc = thread_start(&q->th, writer_main, k);
    if (rc != 0) {
        snprintf(err, errlen, "eve %s: cannot start the writer thread: %s", q->label, strerror(rc));
        pthread_mutex_destroy(&q->mu);
        pthread_cond_destroy(&q->cv);
        goto fail;
    }
    q->started = 1;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    if (q) {
        free(q->ring);
        free(q->label);
        free(q);
    }
    k->q = NULL;
    if (k->ops->destroy)
        k->ops->destroy(k);
    return -1;
}

int sink_async_settle(struct sink *k, uint64_t deadline_ns)
{
    struct aq *q = k->q;
    if (!q || !q->started)
        return 1;
    sink_async_wake(k);
    while (atomic_load(&q->head) != atomic_load(&q->tail)) {
        if (timewait_now_ns() >= deadline_ns)
            break;
        timewait_sleep_ms(1);
    }
    if (atomic_load(&q->head) == atomic_load(&q->tail))
        return 1;
    /* Give up what is left. The writer acts on the flag between sends (one send blocks for the
     * sink's timeout at most) and wakes from its backoff for it; bounded by 5 s more so that a
     * writer stuck in a connect cannot hold the run's end: then stop() counts the rest. */
    atomic_store(&q->discard, 1);
    sink_async_wake(k);
    uint64_t until = timewait_now_ns() + 5000ull * 1000000ull;
    while (atomic_load(&q->discard) && timewait_now_ns() < until) {
        sink_async_wake(k);
        timewait_sleep_ms(1);
    }
    return 0;
}

void sink_async_stop(struct sink *k, unsigned drain_ms)
{
    struct aq *q = k->q;
    if (!q)
        return;
    if (q->started) {
        pthread_mutex_lock(&q->mu);
        uint64_t deadline = timewait_now_ns() + (uint64_t)drain_ms * 1000000ull;
        atomic_store_explicit(&q->deadline_ns, deadline, memory_order_relaxed);
        atomic_store_explicit(&q->stopping, 1, memory_order_release);
        pthread_cond_signal(&q->cv);
        pthread_mutex_unlock(&q->mu);
        pthread_join(q->th, NULL);
        pthread_mutex_destroy(&q->mu);
        pthread_cond_destroy(&q->cv);
        q->started = 0;
    }
    /* what is still queued was never delivered */
    uint64_t head = atomic_load(&q->head), tail = atomic_load(&q->tail), left = 0;
    while (head < tail) {
        uint32_t len;
        ring_get(q, head, &len, 4);
        head += 4 + (uint64_t)len;
        left++;
    }
    atomic_store(&q->head, head);
    atomic_fetch_add(&q->dropped, left);
    if (!atomic_load(&q->destroyed)) {
        atomic_store(&q->kind_errors, k->ops->errors ? k->ops->errors(k) : 0);
        atomic_store(&q->destroyed, 1);
        if (k->ops->destroy)
            k->ops->destroy(k);
        k->priv = NULL;
    }
    free(q->ring);
    q->ring = NULL;
    free(q->scratch);
    q->scratch = NULL;
    free(q->label);
    q->label = NULL;
}

void sink_async_stats(const struct sink *k, struct sink_stats *out)
{
    memset(out, 0, sizeof(*out));
    struct aq *q = k->q;
    if (!q)
        return;
    uint64_t kerr = atomic_load_explicit(&q->destroyed, memory_order_acquire)
                        ? atomic_load(&q->kind_errors)
                        : (k->ops->errors ? k->ops->errors(k) : 0);
    uint64_t ok = atomic_load_explicit(&q->send_ok, memory_order_relaxed);
    out->sent = ok > kerr ? ok - kerr : 0;
    out->dropped = atomic_load_explicit(&q->dropped, memory_order_relaxed);
    out->errors = kerr;
    out->send_failures = atomic_load_explicit(&q->send_fail, memory_order_relaxed);
    out->reconnects = atomic_load_explicit(&q->reconnects, memory_order_relaxed);
}

/* Frees what sink_async_stop() left (the struct holding the counters). */
void sink_async_free(struct sink *k)
{
    if (k->q) {
        sink_async_stop(k, 0);
        free(k->q);
        k->q = NULL;
    }
}
