/* worker.c — the run loop (see worker.h): the workers of a live run, the control side on the
 * caller's thread, dispatch by a symmetric address hash, the workers' sensors, and the end of
 * every run (live or reading files: worker_finish) with its aggregated stats record. Reading
 * files is worker_offline.c's; live workers with their own handles (PACKET_FANOUT) are
 * worker_fanout.c's, both on the state and steps worker_run.h shares.
 *
 * Threads of a live run with nw >= 2 workers, and what each owns:
 *   caller   — the control side: turns SIGHUP into a reopen generation and the stats interval
 *              into a stats epoch, ends the run on SIGINT/SIGTERM or a failed interface.
 *   reload   — (reload.h, started by the caller) builds a new key store on SIGHUP; each worker
 *              adopts it between two batches (sensor_keystore_sync), first thing after each
 *              wait, so that packets sent after the "reloaded" line meet it, and acknowledges;
 *              the old store is freed once every worker has: no worker waits for a reload.
 *   capture  — one per interface: its pcap handle, the producer side of one ring per worker,
 *              the interface's kernel counters (published as relaxed atomics). None with
 *              fanout: each worker then owns one handle per interface and its counters.
 *   worker   — one per sensor: the consumer side of its rings (or its own handles) and
 *              everything in its sensor.
 * With one worker the caller's thread is all three of control, capture and worker: it polls
 * every handle and runs the sensor on the packets in libpcap's buffer. That keeps -j 1 what it
 * was before the worker model: no copy into a ring, no hand-over between threads, no thread
 * for a second CPU to carry, and a 64 MiB ring per interface not allocated. The generation,
 * epoch and housekeeping code is the same; only who reads the handles differs.
 *
 * Counters across threads: a worker's counters are plain uint64_t written only by that worker.
 * Other threads never read them live; at each stats epoch the worker copies them into its own
 * snapshot under a mutex taken once per interval (not per packet), and the worker that finds
 * every snapshot of the epoch published sums them and writes the one stats record. Kernel
 * counters and ring drops are written by the capture threads with relaxed atomic stores/adds;
 * a reader needs no ordering with anything else, only untorn values.
 *
 * Writing the aggregate: the summed struct sensor_counters goes to eve_write_stats()
 * through the writing worker's outputs.
 */
#include "worker.h"
#include "worker_run.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "defrag.h"
#include "eve.h"
#include "fleet.h"
#include "hll.h"
#include "hugeheap.h"
#include "privs.h"
#include "replay.h"
#include "siphash.h"
#include "thread.h"
#include "timewait.h"

#define BATCH 64          /* packets a worker takes from one ring before looking at the next */
#define SLEEP_MS 20       /* longest a worker sleeps: bounds how late it sees a flag */

size_t worker_pick(const uint8_t *data, uint32_t caplen, int linktype, const uint8_t key[16],
                   size_t nworkers, const struct config *cfg)
{
    if (nworkers <= 1)
        return 0;
    return worker_pick_flow(data, caplen, linktype, key, nworkers, cfg, NULL);
}

size_t worker_pick_flow(const uint8_t *data, uint32_t caplen, int linktype,
                        const uint8_t key[16], size_t nworkers, const struct config *cfg,
                        int *flow)
{
    /* The full decoder, not a shortcut: it walks every encapsulation the workers decode, so the
     * addresses hashed are the ones the worker's flow table will key on. */
    struct packet pkt = {.data = data, .caplen = caplen, .wirelen = caplen, .linktype = linktype};
    if (cfg) {
        pkt.vxlan_ports = cfg->vxlan_ports;
        pkt.nvxlan_ports = cfg->nvxlan_ports;
        pkt.geneve_ports = cfg->geneve_ports;
        pkt.ngeneve_ports = cfg->ngeneve_ports;
    }
    int r = decode_packet(&pkt);
    if (flow)
        *flow = r == DECODE_OK;
    if (nworkers <= 1 || (pkt.ip_version != 4 && pkt.ip_version != 6))
        return 0;
    size_t alen = pkt.ip_version == 4 ? 4 : 16;
    uint8_t buf[1 + 32];
    int swap = memcmp(pkt.src, pkt.dst, alen) > 0;
    buf[0] = pkt.ip_version;
    memcpy(buf + 1, swap ? pkt.dst : pkt.src, alen);
    memcpy(buf + 1 + alen, swap ? pkt.src : pkt.dst, alen);
    return (size_t)(siphash24(key, buf, 1 + 2 * alen) % nworkers);
}

/* ---- the workers' sensors ----------------------------------------------------------------- */

int worker_sensors_new(struct config *cfg, const char *logdir, struct reload *rl, size_t nw,
                       struct sensor **sv, char *err, size_t errlen, int *exit_code)
{
    struct replay *rp = NULL;
    struct hll *distinct = NULL;
    struct fleet *fleet = NULL;
    uint8_t seed[16];
    memset(sv, 0, nw * sizeof(*sv));
    /* One fleet for the run: one queue, one connection, one view of the indicators. */
    if (fleet_configured(cfg) && !(fleet = fleet_new(cfg, nw, err, errlen))) {
        *exit_code = 1;
        return -1;
    }
    /* One distinct-token counter for the run: a token seen by two workers counts once. */
    siphash_random_key(seed);
    if (!(distinct = hll_new(seed)))
        goto nomem;
    if (cfg->replay_clients) {
        siphash_random_key(seed);
        if (!(rp = replay_new(cfg->replay_clients, cfg->replay_window, cfg->replay_memcap,
                              seed)))
            goto nomem;
    }
    for (size_t i = 0; i < nw; i++) {
        /* Worker 0 owns the table, the counter and the fleet (frees them, reports their
         * counters once); the others borrow. */
        struct sensor_shared sh = {.reload = rl, .reload_slot = i, .replay = rp,
                                   .replay_owned = i == 0, .distinct = distinct,
                                   .distinct_owned = i == 0, .fleet = fleet,
                                   .fleet_owned = i == 0, .fleet_worker = i};
        if (!(sv[i] = sensor_new_shared(cfg, logdir, &sh, err, errlen, exit_code))) {
            if (i == 0)
                return -1; /* the table and counter went with the failed sensor */
            worker_sensors_free(sv, nw);
            return -1;
        }
    }
    return 0;
nomem:
    hll_free(distinct);
    fleet_free(fleet);
    snprintf(err, errlen, "out of memory");
    *exit_code = 1;
    return -1;
}

void worker_sensors_free(struct sensor **sv, size_t nw)
{
    /* Worker 0 last: it owns the replay table and distinct counter the others borrow. */
    for (size_t i = nw; i-- > 0;) {
        sensor_free(sv[i]);
        sv[i] = NULL;
    }
}

void worker_sensors_quit(struct sensor **sv, size_t nw)
{
    for (size_t i = nw; i-- > 0;) /* worker 0 last: it owns the fleet the others borrow */
        sensor_quit(sv[i]);
}

/* ---- between packets --------------------------------------------------------------------- */

int worker_hup_taken(volatile sig_atomic_t *reopen)
{
    if (!reopen || !*reopen)
        return 0;
    *reopen = 0;
    return 1;
}

void worker_reopen_outputs(struct sensor *s)
{
    for (size_t i = 0; i < s->noutputs; i++) {
        char err[512];
        if (output_reopen(&s->outputs[i], err, sizeof(err)) != 0)
            fprintf(stderr, "tokenwatch: %s\n", err);
    }
}

/* About once a second, live: expires idle flows at wall-clock time (a live sensor's packet
 * time) so their events are not held back while traffic is quiet, and flushes the outputs. */
static void idle(struct sensor *s, uint64_t wall_us)
{
    sensor_poll_fleet(s);
    if (s->flows) {
        if (wall_us > s->now_us)
            s->now_us = wall_us;
        flow_expire(s->flows, s->now_us);
    }
    for (size_t i = 0; i < s->noutputs; i++)
        output_flush(&s->outputs[i]);
}

/* ---- the stats record and the end of a run ----------------------------------------------- */

/* Kernel counters and ring drops, which no worker counts itself. */
static void add_capture_counters(const struct live *L, struct sensor_counters *sum)
{
    sum->st.kernel_packets = sum->st.kernel_drops = sum->st.kernel_ifdrops = 0;
    sum->st.worker_drops = 0;
    for (size_t i = 0; L && i < L->nc; i++) {
        sum->st.kernel_packets += atomic_load_explicit(&L->c[i].kstat[0], memory_order_relaxed);
        sum->st.kernel_drops += atomic_load_explicit(&L->c[i].kstat[1], memory_order_relaxed);
        /* Interface drops are the interface's, whichever handle reads them: with fanout, one
         * handle per interface (worker 0's) counts them. Packets and drops are per socket. */
        if (i < L->nif)
            sum->st.kernel_ifdrops +=
                atomic_load_explicit(&L->c[i].kstat[2], memory_order_relaxed);
        for (size_t j = 0; L->c[i].rings && j < L->nw; j++)
            sum->st.worker_drops +=
                atomic_load_explicit(&L->c[i].rings[j]->drops, memory_order_relaxed);
    }
}

/* Every sensor's counters at ts, summed, with the capture's when live (L). say: a line per
 * worker on stderr (-v with several workers). */
static void sum_counters(struct sensor **sv, size_t nw, uint64_t ts, const struct live *L,
                         struct sensor_counters *sum, int say)
{
    memset(sum, 0, sizeof(*sum));
    for (size_t j = 0; j < nw; j++) {
        struct sensor_counters x;
        sensor_counters_take(sv[j], ts, &x);
        sensor_counters_add(sum, &x);
        if (say)
            fprintf(stderr, "tokenwatch: worker %zu: %llu packets, %llu tokens\n", j,
                    (unsigned long long)x.st.pkts, (unsigned long long)x.st.tokens_seen);
    }
    if (L)
        add_capture_counters(L, sum);
}

/* Writes the summed record through s's outputs, then flushes them. */
static void write_aggregate(struct sensor *s, const struct sensor_counters *sum, uint64_t ts_us)
{
    eve_write_stats(&s->eve, ts_us, sum);
    for (size_t i = 0; i < s->noutputs; i++)
        output_flush(&s->outputs[i]);
}

int worker_finish(struct sensor **sv, size_t nw, uint64_t ts, const struct live *L, int rc,
                  const struct worker_opts *o, struct worker_result *res)
{
    int stats = (sv[0]->out_types & EVE_T_STATS) != 0;
    for (size_t j = 0; j < nw; j++) {
        struct sensor *s = sv[j];
        uint32_t types = s->out_types;
        if (s->now_us < ts)
            s->now_us = ts;
        s->out_types &= ~EVE_T_STATS; /* the record is written once, below, summed */
        sensor_finish(s);
        s->out_types = types;
    }
    if (stats) {
        uint64_t deadline = timewait_now_ns() + 2000000000ull;
        for (size_t j = 0; j < nw; j++)
            sensor_settle_outputs(sv[j], deadline);
    }
    struct sensor_counters sum;
    /* on failure the error line is all stderr says */
    sum_counters(sv, nw, ts, L, &sum, nw > 1 && o->cap.verbose > 0 && rc == 0);
    if (stats)
        write_aggregate(sv[0], &sum, ts);
    res->outputs_failed = 0;
    for (size_t j = 0; j < nw; j++) {
        sensor_close_outputs(sv[j]);
        if (rc == 0 && sensor_outputs_failed(sv[j])) {
            rc = 1; /* records were lost to a write error: said on stderr, exit 1 */
            res->outputs_failed = 1;
        }
    }
    sum_counters(sv, nw, ts, L, &res->total, 0); /* closed: the outputs' counters are final */
    return rc;
}

/* ---- the workers of a live run ------------------------------------------------------------ */

/* Worker w has seen stats epoch e: publishes its snapshot; the worker that completes the
 * epoch writes the record. */
static void publish(struct wk *w, uint64_t e)
{
    struct live *L = w->L;
    pthread_mutex_lock(&w->snap_mu);
    sensor_counters_take(w->s, capture_wall_us(), &w->snap);
    pthread_mutex_unlock(&w->snap_mu);
    atomic_store(&w->snap_epoch, e);
    for (size_t i = 0; i < L->nw; i++)
        if (atomic_load(&L->w[i].snap_epoch) < e)
            return; /* a later publisher completes the round */
    uint64_t old = atomic_load(&L->stats_written);
    while (old < e)
        if (atomic_compare_exchange_weak(&L->stats_written, &old, e)) {
            struct sensor_counters sum;
            memset(&sum, 0, sizeof(sum));
            for (size_t i = 0; i < L->nw; i++) {
                pthread_mutex_lock(&L->w[i].snap_mu);
                sensor_counters_add(&sum, &L->w[i].snap);
                pthread_mutex_unlock(&L->w[i].snap_mu);
            }
            add_capture_counters(L, &sum);
            write_aggregate(w->s, &sum, capture_wall_us());
            return;
        }
}

/* A worker between two batches (now: monotonic ms): what the control side asked for since the
 * last look (SIGHUP: reopen the outputs; a stats epoch: publish), and the once-a-second idle
 * work. (A reloaded key store is taken at the top of each loop, right after its wait, before
 * the packets that woke it.) */
void worker_wake_sync(struct wk *w)
{
    sensor_keystore_sync(w->s);
    uint64_t g = atomic_load_explicit(&w->L->reopen_gen, memory_order_relaxed);
    if (g != w->reopen_seen) {
        w->reopen_seen = g;
        worker_reopen_outputs(w->s);
    }
}

void worker_housekeep(struct wk *w, uint64_t now)
{
    struct live *L = w->L;
    uint64_t g = atomic_load_explicit(&L->reopen_gen, memory_order_relaxed);
    if (g != w->reopen_seen) {
        w->reopen_seen = g;
        worker_reopen_outputs(w->s);
    }
    uint64_t e = atomic_load_explicit(&L->stats_epoch, memory_order_relaxed);
    if (e != w->epoch_seen) {
        w->epoch_seen = e;
        publish(w, e);
    }
    if (now >= w->next_idle) {
        idle(w->s, capture_wall_us());
        w->next_idle = now + 1000;
    }
}

static int rings_empty(const struct wk *w)
{
    for (size_t i = 0; i < w->L->nc; i++) {
        struct worker_ring *r = w->rings[i];
        if (atomic_load(&r->head) != atomic_load_explicit(&r->tail, memory_order_relaxed))
            return 0;
    }
    return 1;
}

static void *worker_main(void *arg)
{
    struct wk *w = arg;
    struct live *L = w->L;
    struct sensor *s = w->s;
    hugeheap_thread(HUGEHEAP_THREAD_RESERVE); /* this thread's arena on huge pages too */
    for (;;) {
        size_t got = 0;
        worker_wake_sync(w); /* a store or a reopen from while this thread waited: the batch's */
        for (size_t i = 0; i < L->nc; i++) {
            const struct worker_pkt *p;
            for (int k = 0; k < BATCH && (p = worker_ring_peek(w->rings[i])); k++) {
                s->eve.in_iface = L->c[p->iface].iface;
                sensor_packet(s, p->ts_us, p->linktype, (const uint8_t *)(p + 1), p->caplen,
                              p->wirelen);
                worker_ring_release(w->rings[i], p);
                got++;
            }
        }
        worker_housekeep(w, capture_mono_ms());
        if (got)
            continue;
        /* Stop only with every ring drained: the capture threads have ended by then. */
        if (atomic_load(&L->wk_stop) && rings_empty(w))
            break;
        pthread_mutex_lock(&w->mu);
        atomic_store_explicit(&w->sleeping, 1, memory_order_relaxed);
        atomic_thread_fence(memory_order_seq_cst); /* pairs with the fence in wake() */
        if (rings_empty(w) && !atomic_load(&L->wk_stop))
            timewait_for_ms(&w->cv, &w->mu, SLEEP_MS);
        atomic_store_explicit(&w->sleeping, 0, memory_order_relaxed);
        pthread_mutex_unlock(&w->mu);
    }
    return NULL;
}

/* After a push: wakes the worker if it went to sleep. The fence orders the ring's head store
 * before the look at `sleeping`, as the worker orders `sleeping` before its look at the head:
 * one of the two sees the other, so no packet waits out a whole SLEEP_MS. */
static void wake(struct wk *w)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&w->sleeping, memory_order_relaxed)) {
        pthread_mutex_lock(&w->mu);
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
}

static void wake_all(struct live *L)
{
    for (size_t i = 0; i < L->nw; i++) {
        pthread_mutex_lock(&L->w[i].mu);
        pthread_cond_signal(&L->w[i].cv);
        pthread_mutex_unlock(&L->w[i].mu);
    }
}

/* ---- reading the interfaces -------------------------------------------------------------- */

/* Several workers: the packet goes to its worker's ring. */
static void on_cap_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    struct cap *c = (struct cap *)user;
    struct live *L = c->L;
    size_t i = worker_pick(data, h->caplen, c->dlt, L->key, L->nw, L->w[0].s->cfg);
    struct worker_pkt hdr = {
        .caplen = h->caplen, .wirelen = h->len, .linktype = c->dlt, .iface = c->index,
        .ts_us = capture_ts_us(h),
    };
    if (worker_ring_push(c->rings[i], &hdr, data) == 0)
        wake(&L->w[i]);
}

/* One worker: the sensor runs on the packet where libpcap has it. */
void worker_inline_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    struct cap *c = (struct cap *)user;
    c->s->eve.in_iface = c->iface;
    sensor_packet(c->s, capture_ts_us(h), c->dlt, data, h->caplen, h->len);
}

void worker_cap_kstats(struct cap *c)
{
    capture_kstats_update(c->p, &c->k);
    for (int i = 0; i < 3; i++)
        atomic_store_explicit(&c->kstat[i], c->k.total[i], memory_order_relaxed);
}

/* Samples the kernel counters when the control side asked (kstat_req), and every second, so
 * the 32-bit counters cannot lap. */
void worker_cap_sample(struct cap *c, uint64_t now)
{
    uint64_t req = atomic_load(&c->L->kstat_req);
    if (req != atomic_load_explicit(&c->kstat_ack, memory_order_relaxed) ||
        now >= c->next_sample) {
        worker_cap_kstats(c);
        atomic_store(&c->kstat_ack, req);
        c->next_sample = now + 1000;
    }
}

static void *capture_main(void *arg)
{
    struct cap *c = arg;
    struct live *L = c->L;
    struct pollfd pfd = {.fd = pcap_get_selectable_fd(c->p), .events = POLLIN};
    while (!atomic_load(&L->cap_stop)) {
        pfd.revents = 0;
        if (poll(&pfd, 1, 100) < 0 && errno != EINTR) {
            fprintf(stderr, "tokenwatch: %s: poll: %s\n", c->iface, strerror(errno));
            atomic_store(&L->failed, 1);
            break;
        }
        if (capture_read(c->p, c->iface, -1, pfd.revents, on_cap_packet, (u_char *)c, NULL) < 0) {
            atomic_store(&L->failed, 1);
            break;
        }
        worker_cap_sample(c, capture_mono_ms());
    }
    worker_cap_kstats(c);
    return NULL;
}

/* ---- the control side -------------------------------------------------------------------- */

/* Fresh kernel counters for the next stats epoch. One worker: this thread reads the handles,
 * so it samples them. Several: asks every capture thread and waits (a capture thread answers
 * within one poll timeout) at most a second. */
static void refresh_kstats(struct live *L)
{
    if (!L->threaded) {
        for (size_t i = 0; i < L->nc; i++)
            worker_cap_kstats(&L->c[i]);
        return;
    }
    uint64_t req = atomic_fetch_add(&L->kstat_req, 1) + 1;
    for (int t = 0; t < 200 && !atomic_load(&L->failed); t++) {
        size_t done = 0;
        for (size_t i = 0; i < L->nc; i++)
            done += atomic_load(&L->c[i].kstat_ack) >= req;
        if (done == L->nc)
            return;
        timewait_sleep_ms(5);
    }
}

/* Turns SIGHUP into a reopen generation and the stats interval into a stats epoch, for the
 * workers to act on between two batches. now: monotonic ms. */
static void control(struct live *L, const struct worker_opts *o, uint64_t now)
{
    if (worker_hup_taken(o->reopen)) {
        atomic_fetch_add(&L->reopen_gen, 1);
        wake_all(L);
    }
    if (now >= L->next_stats) {
        refresh_kstats(L);
        atomic_fetch_add(&L->stats_epoch, 1);
        wake_all(L);
        L->next_stats += L->stats_iv;
        if (L->next_stats <= now) /* a stall (suspend) skips the missed records */
            L->next_stats = now + L->stats_iv;
    }
}

/* One worker, all on this thread: poll every handle, run the sensor on what they hold, then
 * what the control side and the worker do between packets. */
static void run_inline(struct live *L, const struct worker_opts *o, volatile sig_atomic_t *stop)
{
    struct wk *w = &L->w[0];
    while (!*stop) {
        if (poll(L->pfd, (nfds_t)L->nc, 100) < 0 && errno != EINTR) {
            fprintf(stderr, "tokenwatch: poll: %s\n", strerror(errno));
            atomic_store(&L->failed, 1);
            return;
        }
        if (worker_hup_taken(o->reopen)) /* SIGHUP ended poll(): reopen before the packets */
            atomic_fetch_add(&L->reopen_gen, 1);
        worker_wake_sync(w); /* a store or a reopen from during poll(): what woke it */
        for (size_t i = 0; i < L->nc; i++)
            if (capture_read(L->c[i].p, L->c[i].iface, -1, L->pfd[i].revents, worker_inline_packet,
                             (u_char *)&L->c[i], NULL) < 0) {
                atomic_store(&L->failed, 1);
                return;
            }
        uint64_t now = capture_mono_ms();
        for (size_t i = 0; i < L->nc; i++)
            worker_cap_sample(&L->c[i], now);
        control(L, o, now);
        worker_housekeep(w, now);
    }
}

/* Several workers: the threads run; this one is the control side until the run ends, then
 * stops the capture threads first and the workers once they have drained their rings. */
static int run_threads(struct live *L, const struct worker_opts *o, volatile sig_atomic_t *stop)
{
    int rc = 0;
    for (size_t j = 0; j < L->nw && !rc; j++)
        if (thread_start(&L->w[j].th, L->fanout ? worker_fanout_main : worker_main,
                         &L->w[j]) == 0)
            L->w[j].started = 1;
        else
            rc = 1;
    for (size_t i = 0; i < L->nc && !rc && !L->fanout; i++)
        if (thread_start(&L->c[i].th, capture_main, &L->c[i]) == 0)
            L->c[i].started = 1;
        else
            rc = 1;
    if (rc)
        fprintf(stderr, "tokenwatch: cannot start threads\n");
    while (!rc && !*stop && !atomic_load(&L->failed)) {
        timewait_sleep_ms(50); /* a signal cuts it short */
        control(L, o, capture_mono_ms());
    }
    atomic_store(&L->cap_stop, 1);
    for (size_t i = 0; i < L->nc; i++)
        if (L->c[i].started)
            pthread_join(L->c[i].th, NULL);
    atomic_store(&L->wk_stop, 1);
    wake_all(L);
    for (size_t j = 0; j < L->nw; j++)
        if (L->w[j].started)
            pthread_join(L->w[j].th, NULL);
    return rc;
}

static void live_free(struct live *L)
{
    for (size_t i = 0; L->c && i < L->nc; i++) {
        for (size_t j = 0; L->c[i].rings && j < L->nw; j++)
            worker_ring_free(L->c[i].rings[j]);
        free(L->c[i].rings);
        if (L->c[i].p)
            pcap_close(L->c[i].p);
    }
    for (size_t j = 0; L->w && j < L->nw; j++) {
        free(L->w[j].rings);
        free(L->w[j].pfd);
        pthread_mutex_destroy(&L->w[j].mu);
        pthread_cond_destroy(&L->w[j].cv);
        pthread_mutex_destroy(&L->w[j].snap_mu);
    }
    free(L->c);
    free(L->w);
    free(L->pfd);
}

/* fanout (nw >= 2): one handle per (worker, interface), no ring. */
static int live_init(struct live *L, struct sensor **sensors, size_t nw, char *const *ifaces,
                     size_t nif, int fanout)
{
    memset(L, 0, sizeof(*L));
    siphash_random_key(L->key);
    L->threaded = nw > 1;
    L->fanout = fanout && nw > 1;
    L->nc = L->fanout ? nw * nif : nif;
    L->nif = nif;
    L->w = calloc(nw, sizeof(*L->w));
    L->c = calloc(L->nc, sizeof(*L->c));
    if (!L->w || !L->c)
        return -1;
    L->nw = nw;
    for (size_t j = 0; j < nw; j++) {
        struct wk *w = &L->w[j];
        w->L = L;
        w->s = sensors[j];
        pthread_mutex_init(&w->mu, NULL);
        timewait_cond_init(&w->cv);
        pthread_mutex_init(&w->snap_mu, NULL);
        if (L->fanout) {
            w->caps = &L->c[j * nif];
            if (!(w->pfd = calloc(nif, sizeof(*w->pfd))))
                return -1;
        } else if (L->threaded && !(w->rings = calloc(nif, sizeof(*w->rings)))) {
            return -1;
        }
    }
    if (!L->threaded && !(L->pfd = calloc(nif, sizeof(*L->pfd))))
        return -1;
    for (size_t k = 0; k < L->nc; k++) {
        struct cap *c = &L->c[k];
        size_t i = k % nif;
        c->L = L;
        c->iface = ifaces[i];
        c->index = (uint32_t)i;
        if (!L->threaded || L->fanout) {
            c->s = sensors[k / nif];
            continue;
        }
        if (!(c->rings = calloc(nw, sizeof(*c->rings))))
            return -1;
        size_t bytes = WORKER_RING_TOTAL / nw > WORKER_RING_MIN ? WORKER_RING_TOTAL / nw
                                                                 : WORKER_RING_MIN;
        for (size_t j = 0; j < nw; j++)
            if (!(c->rings[j] = L->w[j].rings[i] = worker_ring_new(bytes)))
                return -1;
    }
    return 0;
}

#define FANOUT_REFUSED (-1) /* live_open: the handles could not join a fanout group */

/* Opens every interface (with fanout, once per worker, and joins each interface's handles in
 * one group), then drops privileges. 0, FANOUT_REFUSED (reason in err), or the run's exit
 * status. */
static int live_open(struct live *L, struct sensor **sensors, const struct worker_opts *o,
                     char *err, size_t errlen)
{
    int rc = 0;
    for (size_t k = 0; k < L->nc; k++) {
        struct cap *c = &L->c[k];
        if (!(c->p = capture_open_iface(c->iface, &o->cap, &rc)))
            return rc;
        c->dlt = pcap_datalink(c->p);
        struct pollfd pfd = {.fd = pcap_get_selectable_fd(c->p), .events = POLLIN};
        if (L->pfd)
            L->pfd[k] = pfd;
        if (L->fanout)
            L->w[k / L->nif].pfd[k % L->nif] = pfd;
    }
    if (L->fanout && worker_fanout_join(L, err, errlen) != 0)
        return FANOUT_REFUSED;
    return privs_drop(o->user, o->group, sensors, L->nw) != 0 ? 1 : 0;
}

/* Builds and opens the run: with capture.fanout auto or yes and several workers, a fanout group
 * first; when the kernel refuses it, auto falls back to capture threads and rings (one line on
 * stderr), yes ends the run. 0, or the run's exit status (L freed). */
static int live_start(struct live *L, struct sensor **sensors, size_t nw, char *const *ifaces,
                      size_t nif, const struct worker_opts *o)
{
    int fanout = nw > 1 && o->fanout != CAPTURE_FANOUT_NO;
    for (;;) {
        if (live_init(L, sensors, nw, ifaces, nif, fanout) != 0) {
            fprintf(stderr, "tokenwatch: out of memory for %zu workers\n", nw);
            live_free(L);
            return 1;
        }
        char err[256] = "";
        int rc = live_open(L, sensors, o, err, sizeof(err));
        if (rc == 0) {
            if (L->fanout && o->cap.verbose > 0)
                fprintf(stderr, "tokenwatch: capturing with %zu workers, each with its own "
                                "handles (PACKET_FANOUT)\n", nw);
            return 0;
        }
        live_free(L); /* the capture never started: no record; the caller frees the sensors */
        if (rc != FANOUT_REFUSED)
            return rc;
        if (o->fanout == CAPTURE_FANOUT_YES) {
            fprintf(stderr, "tokenwatch: capture.fanout: %s\n", err);
            return 1;
        }
        if (o->cap.verbose >= 0)
            fprintf(stderr, "tokenwatch: no capture fanout (%s): one capture thread per "
                            "interface\n", err);
        fanout = 0;
    }
}

int worker_live(struct sensor **sensors, size_t nw, char *const *ifaces, size_t nif,
                const struct worker_opts *o, volatile sig_atomic_t *stop,
                struct worker_result *res)
{
    struct live L;
    memset(res, 0, sizeof(*res));
    int rc = live_start(&L, sensors, nw, ifaces, nif, o);
    if (rc)
        return rc;
    uint64_t wall = capture_wall_us(), now = capture_mono_ms();
    for (size_t j = 0; j < nw; j++) {
        sensors[j]->start_us = wall; /* uptime counts from the start of capture */
        sensors[j]->have_time = 1;
        sensors[j]->eve.in_iface = ifaces[0];
        L.w[j].next_idle = now + 1000;
    }
    for (size_t k = 0; k < L.nc; k++)
        L.c[k].next_sample = now + 1000;
    L.stats_iv = (uint64_t)o->stats_interval * 1000;
    L.next_stats = L.stats_iv ? now + L.stats_iv : UINT64_MAX;
    if (L.threaded) {
        rc = run_threads(&L, o, stop);
    } else {
        run_inline(&L, o, stop);
        for (size_t i = 0; i < nif; i++)
            worker_cap_kstats(&L.c[i]); /* the final kernel counters (a capture thread's
                                           last act) */
    }
    if (atomic_load(&L.failed))
        rc = 1;
    /* No packet can come any more: the sensors are this thread's. The final record is stamped
     * with the wall clock, live packet time. */
    rc = worker_finish(sensors, nw, capture_wall_us(), &L, rc, o, res);
    live_free(&L);
    return rc;
}
