/* worker_run.h — what the run loops of sensor/capture share (worker.c: live and the end of every
 * run; worker_offline.c: reading files; worker_fanout.c: live with PACKET_FANOUT): the state of
 * a live run and the steps between packets. Private to the folder.
 *
 * Pipeline: none of its own; the steps between and after packets that worker.h describes. Owns
 * nothing.
 */
#ifndef TW_WORKER_RUN_H
#define TW_WORKER_RUN_H

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "sensor_counters.h"

/* worker.h's, not included: worker.h's modules include this one (no include loop). */
struct worker_opts;
struct worker_result;
struct worker_ring;
struct sensor;

/* ---- the state of a live run ------------------------------------------------------------- */

struct live;

struct wk {
    struct live *L;
    struct sensor *s;
    struct worker_ring **rings;       /* one per interface; NULL with one worker or fanout */
    struct cap *caps;                 /* fanout: this worker's handles, one per interface */
    struct pollfd *pfd;               /* fanout: those handles, polled together */
    pthread_t th;
    int started;
    pthread_mutex_t mu;               /* with cv: sleeping while every ring is empty */
    pthread_cond_t cv;
    _Atomic int sleeping;
    pthread_mutex_t snap_mu;
    struct sensor_counters snap;
    _Atomic uint64_t snap_epoch;
    uint64_t reopen_seen, epoch_seen; /* the generation and epoch this worker has acted on */
    uint64_t next_idle;               /* monotonic ms */
};

struct cap {
    struct live *L;
    const char *iface;
    uint32_t index;
    pcap_t *p;
    int dlt;
    struct sensor *s;                 /* one worker or fanout: the sensor its packets go to */
    struct worker_ring **rings;       /* several workers, no fanout: one per worker */
    pthread_t th;
    int started;
    struct capture_kstats k;          /* the reading thread's own sampling state */
    uint64_t next_sample;             /* monotonic ms */
    _Atomic uint64_t kstat[3];        /* packets, drops, ifdrops of this interface */
    _Atomic uint64_t kstat_ack;
};

struct live {
    struct wk *w;
    size_t nw;
    struct cap *c;                    /* the handles: one per interface, or with fanout one per
                                         (worker, interface), worker j's at c[j * nif ...] */
    size_t nc, nif;
    int threaded;                     /* nw >= 2: worker threads (and capture threads) */
    int fanout;                       /* each worker reads its own handles (PACKET_FANOUT) */
    struct pollfd *pfd;               /* one worker: every handle, polled together */
    uint8_t key[16];
    _Atomic int cap_stop, wk_stop, failed;
    atomic_int said;                  /* fanout: an interface failure was said (once a run) */
    _Atomic uint64_t reopen_gen, stats_epoch, stats_written, kstat_req;
    uint64_t stats_iv, next_stats;    /* the control side's, monotonic ms */
};

/* Right after each wait of a live worker w, before the packets that woke it: a key store a
 * reload published (sensor_keystore_sync) and an output reopen the control side asked for, so
 * that traffic sent after SIGHUP's "reloaded" line is judged with the new keys and written to
 * the reopened files (a worker busy with packets takes both between batches). */
void worker_wake_sync(struct wk *w);
/* Between two batches of worker w (now: monotonic ms): an output reopen, a stats epoch, the
 * once-a-second idle work. */
void worker_housekeep(struct wk *w, uint64_t now);
/* A pcap_handler for a handle whose packets its cap's sensor takes where libpcap holds them. */
void worker_inline_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data);
/* Samples c's kernel counters now / when the control side asked or a second has passed. */
void worker_cap_kstats(struct cap *c);
void worker_cap_sample(struct cap *c, uint64_t now);

/* Fanout (worker_fanout.c): joins the handles of each interface in one PACKET_FANOUT group
 * (hash mode, defragmenting). 0, or -1 with the reason in err (not Linux, not a packet socket,
 * a kernel without fanout). */
int worker_fanout_join(struct live *L, char *err, size_t errlen);
/* The thread of worker w with fanout: polls its own handles and runs its sensor on them. */
void *worker_fanout_main(void *arg);

/* SIGHUP: 1 once per signal, clearing the flag. Only a control side takes it. */
int worker_hup_taken(volatile sig_atomic_t *reopen);

/* Reopens every output of s; failures are reported on stderr, the old file stays in use. */
void worker_reopen_outputs(struct sensor *s);

/* The end of every run, once no packet can come: each sensor writes its flows' pending events;
 * the async outputs get one deadline (2 s) to deliver them, so the final record counts every
 * record before it; one stats record stamped ts, summed over the workers (and the capture's
 * counters when live: L), goes out through sv[0]; the outputs close and res gets the final
 * counters. rc is the run's so far; returns it, or 1 when it was 0 and an output lost records. */
int worker_finish(struct sensor **sv, size_t nw, uint64_t ts, const struct live *L, int rc,
                  const struct worker_opts *o, struct worker_result *res);

#endif
