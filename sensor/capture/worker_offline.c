/* worker_offline.c — reading capture files (worker.h's worker_offline): with one worker on the
 * caller's thread, with nw >= 2 a reader and nw worker threads.
 *
 * One worker (-j 1): the caller's thread reads capture.h's handles and runs the sensor on each
 * packet where libpcap holds it; no ring, no thread, no copy.
 *
 * Several workers: the caller's thread is the reader, the control side and worker 0. It reads
 * the files in order (capture_offline) and hands each packet to the worker worker_pick chose (the
 * symmetric address hash of live -j N: both directions and every fragment of a flow meet in one
 * worker): worker 0's it runs itself, where libpcap holds it; another's it copies into that
 * worker's single-producer/single-consumer ring (worker_ring.c). N workers are N threads: with
 * as many CPUs, nobody waits for a CPU, and a caught-up worker spins briefly on its empty ring
 * before it sleeps (a wake-up per push cost more than the work it waited for). Reading
 * files never drops: when the ring is full the reader wakes the worker and sleeps (OFF_FULL_US
 * at a time: a full ring is milliseconds of the worker's work) until the record fits. Each
 * worker thread owns its sensor (flows, cache, outputs), shares the key store, the token_replay
 * table and the distinct-token counter as live does (worker_sensors_new), adopts a reloaded key
 * store before each record and reopens its outputs when the reader took a SIGHUP.
 *
 * Time: offline a sensor runs on packet time, and one sensor sees every packet's time; a worker
 * sees only its own packets. So that flows and fragments time out at the same packet time as
 * with one worker (and the records written then carry the same timestamps), the reader sends
 * every other worker a clock tick (WORKER_REC_TICK, no data) whenever the packet time went past
 * what it last told that worker; a tick does what sensor_packet does with the time before it
 * decodes: starts the sensor's clock, moves it forward, expires fragments, and, when the packet
 * decoded to a flow (only then does a sensor look up flows), expires idle flows. A new file is
 * announced to every worker (WORKER_REC_FILE) before its first packet, so that each sensor's
 * file list (pcap_filename) is the same; a packet carries its number in its file (pcap_cnt).
 * What remains per worker: the verification cache (a token seen by two workers is verified by
 * both), observed key sets (a JWKS seen by one worker is not known to the others), the decode
 * anomaly rate limit, and the order in which two workers write their records. Checks against
 * the shared replay table are filed and answered in packet order (replay_defer.h, answered
 * between packets by whichever thread is free): no worker waits for another, and the token's
 * records wait for the answer, so the occurrence past the limit is the one -j 1 would find.
 *
 * The end: the reader stops the workers once their rings are drained and joins them; then one
 * end of run for all (worker_finish: flows flushed, one summed stats record stamped with the last
 * packet's time). Capture errors are the reader's and go to worker 0's counters.
 */
#include "worker.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "applayer.h"
#include "defrag.h"
#include "flow.h"
#include "hugeheap.h"
#include "replay.h"
#include "replay_defer.h"
#include "siphash.h"
#include "thread.h"
#include "timewait.h"
#include "worker_run.h"

#define OFF_RING_BYTES (4u << 20) /* per worker: a few thousand packets of slack */
#define OFF_BATCH 64              /* records a worker takes before its housekeeping */
#define OFF_SLEEP_MS 20           /* longest a worker sleeps on an empty ring */
#define OFF_ANSWER_EVERY 32       /* the reader's packets between two looks at replay answers */
#define OFF_SLOTS 1000            /* the flow hash's slots, shared out among the workers */
/* What reading a packet and handing it on costs the reader, in thousandths of what handling
 * it costs a worker (benchmark capture, -j 2: the reader at 30 % of the flows kept pace with
 * the other worker at 70 %, 0.425 s wall against 0.533 s at 50 % and 0.473 s at 40 %). Worker
 * 0 gets (1000 - OFF_READ_COST * (N - 1)) / N of the slots, none from 4 workers on: the reader
 * then only reads. */
#define OFF_READ_COST 400
#define OFF_IDLE_SPIN 4096        /* a worker's spin on an empty ring before it sleeps */
#define OFF_FULL_US 500           /* the reader's sleep while a ring is full */

/* ---- one worker: the caller's thread ---------------------------------------------------- */

struct inline_rd {
    struct sensor *s;
    volatile sig_atomic_t *stop, *reopen;
};

/* capture_offline's reader: every packet of one file, SIGHUP and a new key store between two. */
static void read_inline(void *arg, struct capture_file *f)
{
    const struct inline_rd *x = arg;
    struct sensor *s = x->s;
    volatile sig_atomic_t *stop = x->stop, *reopen = x->reopen;
    struct pcap_pkthdr *h;
    const u_char *data;
    sensor_set_pcap(s, f->path);
    while (!*stop && capture_file_next(f, &h, &data) == 1) {
        if (worker_hup_taken(reopen))
            worker_reopen_outputs(s);
        sensor_keystore_sync(s);
        sensor_packet(s, capture_ts_us(h), f->dlt, data, h->caplen, h->len);
    }
}

/* ---- several workers -------------------------------------------------------------------- */

struct reader;

struct owk {
    struct reader *R;
    struct sensor *s;
    struct worker_ring *ring;
    pthread_t th;
    int started;
    pthread_mutex_t mu;             /* with cv: sleeping while the ring is empty */
    pthread_cond_t cv;
    _Atomic int sleeping;
    const _Atomic int *done;        /* the reader has pushed its last record */
    const _Atomic uint64_t *reopen_gen;
    uint64_t reopen_seen;
    _Alignas(64) _Atomic uint64_t low; /* every record with a smaller seq is handled */
    /* what this worker publishes after each record, for the reader's ticks (relaxed: a stale
     * value only makes the reader tick more) */
    _Alignas(64) _Atomic uint64_t now_pub;   /* its sensor's clock */
    _Atomic uint64_t flow_due, frag_due;     /* flow_next_due / defrag_next_due */
    /* the reader's side: a line of its own, apart from the one the worker writes per record */
    _Alignas(64) uint64_t told_us;  /* the packet time this worker was last given, and */
    uint64_t told_flow_us;          /* last given with a flow lookup; UINT64_MAX: nothing yet */
    uint64_t due_flow, due_frag;    /* the earliest flow / fragment deadline this worker can
                                       have, from what it published when last read (0: read) */
};

struct reader {
    struct owk *w;
    size_t nw;
    uint64_t gmax;                  /* the latest packet time read (one sensor's clock) */
    uint64_t flow_min_us, frag_min_us; /* the shortest flow / fragment timeouts */
    uint8_t key[16];
    const struct config *cfg;
    volatile sig_atomic_t *stop, *reopen;
    _Atomic int done;
    _Atomic uint64_t reopen_gen;
    uint64_t seq;                   /* the reader's: the next packet's seq */
    size_t w0_slots;                /* worker 0's share of the hash's OFF_SLOTS */
    _Alignas(64) _Atomic uint64_t next_seq; /* every record with a smaller seq is pushed */
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* What sensor_packet does with a packet's time before it decodes it (pipeline.c), for a packet
 * another worker got: the clock starts and only moves forward; fragments and, when that packet
 * decoded to a flow, flows past their timeout are expired at that time. */
static void tick(struct sensor *s, uint64_t ts_us, int flow)
{
    if (!s->have_time) {
        s->start_us = ts_us;
        s->have_time = 1;
    }
    if (ts_us > s->now_us)
        s->now_us = ts_us;
    defrag_expire(s->defrag, s->now_us);
    if (flow && s->flows)
        flow_expire(s->flows, s->now_us);
}

static void handle(struct sensor *s, const struct worker_pkt *p)
{
    const uint8_t *data = (const uint8_t *)(p + 1);
    switch (p->kind) {
    case WORKER_REC_PACKET:
        /* pcap_cnt: the packet's number in its file, as the reader counted (the pipeline adds
         * one to what it finds). */
        s->eve.pcap_cnt_file = s->eve.pcap_index;
        s->eve.pcap_cnt = p->cnt - 1;
        sensor_packet(s, p->ts_us, p->linktype, data, p->caplen, p->wirelen);
        break;
    case WORKER_REC_TICK:
        tick(s, p->ts_us, p->iface != 0);
        break;
    case WORKER_REC_FILE:
        sensor_set_pcap(s, (const char *)data);
        break;
    default:
        break;
    }
}

/* w has handled every record below v (and so filed every replay check of those records:
 * replay_defer.h). A release store, paired with passed()'s acquire load: the answering thread
 * that sees v sees every ticket filed before it (it reads the queues after the positions). Not
 * seq_cst, a full fence per record: no load here must be ordered after this store. */
static void publish_low(struct owk *w, uint64_t v)
{
    atomic_store_explicit(&w->low, v, memory_order_release);
}

/* Between packets: answer the replay checks that can be, write this worker's answered ones. */
static void replay_answers(struct sensor *s)
{
    if (s->rdefer) {
        replay_defer_run(s->rdefer, 0);
        app_tx_release_replay(s);
    }
}

static void *off_worker_main(void *arg)
{
    struct owk *w = arg;
    struct sensor *s = w->s;
    hugeheap_thread(HUGEHEAP_THREAD_RESERVE); /* this thread's arena on huge pages too */
    for (;;) {
        size_t got = 0;
        const struct worker_pkt *p;
        while (got < OFF_BATCH) {
            if (!(p = worker_ring_peek(w->ring))) {
                /* Everything the reader pushed before next_seq is visible: none of it left
                 * here means every record below it is handled. */
                uint64_t next = atomic_load_explicit(&w->R->next_seq, memory_order_acquire);
                if (!(p = worker_ring_peek(w->ring))) {
                    publish_low(w, next);
                    break;
                }
            }
            s->rdefer_seq = p->seq;
            publish_low(w, p->seq);
            /* As with one worker, a reloaded key store is taken before the next packet: a
             * relaxed load and a compare when nothing changed. */
            sensor_keystore_sync(s);
            handle(s, p);
            atomic_store_explicit(&w->now_pub, s->now_us, memory_order_relaxed);
            atomic_store_explicit(&w->flow_due, s->flows ? flow_next_due(s->flows) : UINT64_MAX,
                                  memory_order_relaxed);
            atomic_store_explicit(&w->frag_due, defrag_next_due(s->defrag), memory_order_relaxed);
            worker_ring_release(w->ring, p);
            got++;
        }
        sensor_keystore_sync(s);
        replay_answers(s);
        uint64_t g = atomic_load_explicit(w->reopen_gen, memory_order_relaxed);
        if (g != w->reopen_seen) {
            w->reopen_seen = g;
            worker_reopen_outputs(s);
        }
        if (got)
            continue;
        /* done is stored after the last push: seen set with an empty ring, nothing is left. */
        if (atomic_load(w->done) && !worker_ring_peek(w->ring))
            break;
        /* The reader (worker 0 too) pushes every few microseconds: spin a little before
         * sleeping, so that a caught-up worker does not cost the reader a wake-up per push. */
        unsigned k = 0;
        while (k < OFF_IDLE_SPIN && !worker_ring_peek(w->ring) && !atomic_load(w->done)) {
            cpu_relax();
            k++;
        }
        if (k < OFF_IDLE_SPIN)
            continue;
        pthread_mutex_lock(&w->mu);
        atomic_store_explicit(&w->sleeping, 1, memory_order_relaxed);
        atomic_thread_fence(memory_order_seq_cst); /* pairs with the fence in off_wake() */
        if (atomic_load_explicit(&w->ring->head, memory_order_acquire) ==
                atomic_load_explicit(&w->ring->tail, memory_order_relaxed) &&
            !atomic_load(w->done))
            timewait_for_ms(&w->cv, &w->mu, OFF_SLEEP_MS);
        atomic_store_explicit(&w->sleeping, 0, memory_order_relaxed);
        pthread_mutex_unlock(&w->mu);
    }
    return NULL;
}

/* After a push: wakes the worker if it went to sleep (see worker.c's wake()). */
static void off_wake(struct owk *w)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&w->sleeping, memory_order_relaxed)) {
        pthread_mutex_lock(&w->mu);
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
}

/* Whether w has handled every record below S because it has none left: every record below S
 * was pushed (next_seq) and w's ring is empty (a worker releases a record only after handling
 * it). Worker 0 is the reader itself and has no ring: its low is kept up to date per packet.
 * This spares the answering a wait for a worker that sleeps, caught up, on an empty ring. */
static int drained(struct reader *R, struct owk *w, uint64_t S)
{
    if (!w->ring || atomic_load_explicit(&R->next_seq, memory_order_acquire) < S)
        return 0;
    return atomic_load_explicit(&w->ring->tail, memory_order_acquire) ==
           atomic_load_explicit(&w->ring->head, memory_order_acquire);
}

/* replay_defer's passed(): worker i has filed every replay check of the records before S. */
static int passed(void *arg, size_t i, uint64_t S)
{
    struct reader *R = arg;
    struct owk *w = &R->w[i];
    return atomic_load_explicit(&w->low, memory_order_acquire) >= S || drained(R, w, S);
}

/* Copies one record into w's ring, waiting while it is full: reading files never drops. A full
 * ring holds milliseconds of the worker's work, so the reader sleeps (OFF_FULL_US) rather than
 * spin: on a machine with as many workers as CPUs, its CPU is the workers'. */
static void push_wait(struct owk *w, const struct worker_pkt *hdr, const uint8_t *data)
{
    while (worker_ring_try_push(w->ring, hdr, data) != 0) {
        off_wake(w);
        struct timespec ts = {0, OFF_FULL_US * 1000};
        nanosleep(&ts, NULL);
    }
    off_wake(w);
}

/* capture_offline's reader with several workers: every packet to its worker, the time to the
 * others, SIGHUP to all. */
static void read_dispatch(void *arg, struct capture_file *f)
{
    struct reader *R = arg;
    struct pcap_pkthdr *h;
    const u_char *data;
    size_t namelen = strlen(f->path) + 1;
    struct worker_pkt fh = {.caplen = (uint32_t)namelen, .wirelen = (uint32_t)namelen,
                            .kind = WORKER_REC_FILE, .seq = R->seq};
    struct owk *w0 = &R->w[0];
    struct sensor *s0 = w0->s;
    sensor_set_pcap(s0, f->path);
    for (size_t j = 1; j < R->nw; j++)
        push_wait(&R->w[j], &fh, (const uint8_t *)f->path);
    /* A record must fit in half a ring; libpcap's largest snapshot length (256 KiB) does. */
    uint32_t maxcap = OFF_RING_BYTES / 2 - (uint32_t)sizeof(struct worker_pkt) - 8;
    while (!*R->stop && capture_file_next(f, &h, &data) == 1) {
        if (worker_hup_taken(R->reopen)) {
            atomic_fetch_add(&R->reopen_gen, 1);
            w0->reopen_seen = atomic_load(&R->reopen_gen);
            worker_reopen_outputs(s0);
        }
        uint64_t ts = capture_ts_us(h), seq = R->seq++;
        if (ts > R->gmax)
            R->gmax = ts;
        uint64_t G = R->gmax;
        /* Worker 0 (this thread) has handled every record before this one. */
        publish_low(w0, seq);
        int flow = 0;
        /* The address-pair hash as a slot of OFF_SLOTS; worker 0's share first (OFF_READ_COST). */
        size_t i = worker_pick_flow(data, h->caplen, f->dlt, R->key, OFF_SLOTS, R->cfg, &flow);
        i = i < R->w0_slots ? 0 : 1 + (i - R->w0_slots) % (R->nw - 1);
        for (size_t j = 0; j < R->nw; j++) {
            struct owk *w = &R->w[j];
            if (j == i) {
                /* A packet earlier than the clock (merged captures): one sensor would handle it
                 * at the clock's time; a tick brings the worker's clock there first. */
                if (j != 0 && G > ts && (w->told_us == UINT64_MAX || G > w->told_us)) {
                    struct worker_pkt th = {.ts_us = G, .kind = WORKER_REC_TICK,
                                            .iface = flow ? 1 : 0, .seq = seq};
                    push_wait(w, &th, NULL);
                }
                w->told_us = G;
                if (flow)
                    w->told_flow_us = G;
                continue;
            }
            /* The clock only moves forward: a tick for a time already given does nothing. */
            int newer = w->told_us == UINT64_MAX || G > w->told_us;
            int newer_flow = flow && (w->told_flow_us == UINT64_MAX || G > w->told_flow_us);
            if (!newer && !newer_flow)
                continue;
            /* Nor does one before anything of that worker can be due: its earliest flow or
             * fragment deadline as it last published it, or, for what it has not handled yet
             * (a new flow or datagram, a flow that closes), its clock plus the shortest
             * timeout; stale values are earlier, so a tick is never missed, only spared. Its
             * next packet brings its clock up to date as sensor_packet would (below). */
            if (j != 0 && w->told_us != UINT64_MAX) {
                /* The bounds stay bounds however old (a deadline set later is later than
                 * the clock then plus the shortest timeout): the worker's lines, which it
                 * writes after every record, are read only when the packet time reaches one. */
                if (G < w->due_frag && !(flow && G >= w->due_flow))
                    continue;
                uint64_t np = atomic_load_explicit(&w->now_pub, memory_order_relaxed);
                uint64_t fd = atomic_load_explicit(&w->flow_due, memory_order_relaxed);
                uint64_t dd = atomic_load_explicit(&w->frag_due, memory_order_relaxed);
                w->due_flow = np + R->flow_min_us < fd ? np + R->flow_min_us : fd;
                w->due_frag = np + R->frag_min_us < dd ? np + R->frag_min_us : dd;
                if (G < w->due_frag && !(flow && G >= w->due_flow))
                    continue;
            }
            if (j == 0) {
                tick(s0, G, flow);
            } else {
                struct worker_pkt th = {.ts_us = G, .kind = WORKER_REC_TICK,
                                        .iface = flow ? 1 : 0, .seq = seq};
                push_wait(w, &th, NULL);
            }
            if (newer)
                w->told_us = G;
            if (flow)
                w->told_flow_us = G;
        }
        struct worker_pkt ph = {
            .caplen = h->caplen < maxcap ? h->caplen : maxcap, .wirelen = h->len,
            .linktype = f->dlt, .ts_us = ts, .kind = WORKER_REC_PACKET, .cnt = f->npkts,
            .seq = seq,
        };
        if (i == 0) {
            /* As with one worker: a reloaded key store before the packet, then the packet
             * where libpcap holds it (no copy). */
            s0->rdefer_seq = seq;
            sensor_keystore_sync(s0);
            s0->eve.pcap_cnt_file = s0->eve.pcap_index;
            s0->eve.pcap_cnt = ph.cnt - 1;
            sensor_packet(s0, ts, f->dlt, data, ph.caplen, ph.wirelen);
        } else {
            push_wait(&R->w[i], &ph, data);
        }
        atomic_store_explicit(&R->next_seq, seq + 1, memory_order_release);
        if ((seq & (OFF_ANSWER_EVERY - 1)) == 0)
            replay_answers(s0);
    }
    publish_low(w0, R->seq);
}

static int offline_threads(struct sensor **sv, size_t nw, char *const *paths, size_t n,
                           const struct worker_opts *o, volatile sig_atomic_t *stop,
                           struct worker_result *res)
{
    struct reader R;
    memset(&R, 0, sizeof(R));
    R.nw = nw;
    R.cfg = sv[0]->cfg;
    uint32_t fmin = R.cfg->flow_closed_timeout < R.cfg->flow_timeout ? R.cfg->flow_closed_timeout
                                                                      : R.cfg->flow_timeout;
    R.flow_min_us = (uint64_t)fmin * 1000000u;
    R.frag_min_us = (uint64_t)R.cfg->defrag_timeout * 1000000u;
    R.stop = stop;
    R.reopen = o->reopen;
    R.w0_slots = OFF_READ_COST * (nw - 1) < OFF_SLOTS
                     ? (OFF_SLOTS - OFF_READ_COST * (nw - 1)) / nw : 0;
    siphash_random_key(R.key);
    /* struct owk holds a cache-line aligned member: aligned_alloc, not calloc. */
    size_t bytes = (nw * sizeof(*R.w) + 63) & ~(size_t)63;
    if ((R.w = aligned_alloc(64, bytes)))
        memset(R.w, 0, bytes);
    if (!R.w) {
        fprintf(stderr, "tokenwatch: out of memory for %zu workers\n", nw);
        return 1;
    }
    int rc = 0;
    for (size_t j = 0; j < nw; j++) {
        struct owk *w = &R.w[j];
        w->R = &R;
        w->s = sv[j];
        w->done = &R.done;
        w->reopen_gen = &R.reopen_gen;
        w->told_us = w->told_flow_us = UINT64_MAX;
        pthread_mutex_init(&w->mu, NULL);
        timewait_cond_init(&w->cv);
        /* worker 0 is the reader itself: no ring */
        if (j > 0 && !(w->ring = worker_ring_new(OFF_RING_BYTES)))
            rc = 1;
    }
    /* The replay table is sv[0]'s, shared by all (worker_sensors_new); its checks are filed and
     * answered in packet order (replay_defer.h). */
    struct replay_defer *rd = NULL;
    if (!rc && sv[0]->replay) {
        if ((rd = replay_defer_new(sv[0]->replay, nw, passed, &R))) {
            for (size_t j = 0; j < nw; j++) {
                sv[j]->rdefer = rd;
                sv[j]->rdefer_worker = j;
            }
        } else {
            rc = 1;
        }
    }
    if (rc)
        fprintf(stderr, "tokenwatch: out of memory for %zu workers\n", nw);
    for (size_t j = 1; j < nw && !rc; j++) {
        if (thread_start(&R.w[j].th, off_worker_main, &R.w[j]) == 0) {
            R.w[j].started = 1;
        } else {
            fprintf(stderr, "tokenwatch: cannot start threads\n");
            rc = 1;
        }
    }
    uint64_t errors = 0;
    if (!rc)
        rc = capture_offline(&errors, paths, n, &o->cap, stop, read_dispatch, &R);
    atomic_store(&R.done, 1);
    for (size_t j = 1; j < nw; j++) {
        struct owk *w = &R.w[j];
        pthread_mutex_lock(&w->mu);
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
        if (w->started)
            pthread_join(w->th, NULL);
    }
    /* No packet can come any more: the sensors are this thread's. The last replay checks are
     * answered and written before the end of the run checks its own (one thread, in order). */
    if (rd) {
        replay_defer_run(rd, 1);
        for (size_t j = 0; j < nw; j++) {
            app_tx_release_replay(sv[j]);
            sv[j]->rdefer = NULL;
        }
        replay_defer_free(rd);
    }
    sv[0]->st.capture_errors += errors;
    uint64_t last = 0;
    for (size_t j = 0; j < nw; j++)
        if (sv[j]->now_us > last)
            last = sv[j]->now_us;
    rc = worker_finish(sv, nw, last, NULL, rc, o, res);
    for (size_t j = 0; j < nw; j++) {
        worker_ring_free(R.w[j].ring);
        pthread_mutex_destroy(&R.w[j].mu);
        pthread_cond_destroy(&R.w[j].cv);
    }
    free(R.w);
    return rc;
}

int worker_offline(struct sensor **sv, size_t nw, char *const *paths, size_t n,
                   const struct worker_opts *o, volatile sig_atomic_t *stop,
                   struct worker_result *res)
{
    memset(res, 0, sizeof(*res));
    if (nw > 1)
        return offline_threads(sv, nw, paths, n, o, stop, res);
    struct sensor *s = sv[0];
    struct inline_rd x = {.s = s, .stop = stop, .reopen = o->reopen};
    int rc = capture_offline(&s->st.capture_errors, paths, n, &o->cap, stop, read_inline, &x);
    /* The final record is stamped with the last packet's time, as offline every record is. */
    return worker_finish(&s, 1, s->now_us, NULL, rc, o, res);
}
