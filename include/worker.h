/* worker.h — the run loop: the workers that run the sensors, offline and live.
 *
 * Every run is a set of workers, each its own struct sensor (flows, cache, outputs), and one
 * control side on the caller's thread that turns SIGHUP into an output reopen, the stats interval
 * into one stats record with every worker's counters summed, and SIGINT/SIGTERM into the end of
 * the run; every worker picks up a key store a hot reload (reload.h) published between two
 * batches. The end of a run is one sequence for all: flows flushed, outputs settled, one final
 * stats record, outputs closed, the summed counters handed back for the exit summary.
 *
 * Reading files with one worker (worker_offline, -j 1): the caller's thread reads capture.h's
 * handles and runs the sensor on each packet, no ring, no thread. With nw >= 2 the caller's
 * thread is the reader: it reads the files in order and hands each packet, by the same
 * symmetric hash as live, to one worker thread's ring, waiting (never dropping) while that ring
 * is full; every worker also gets the reader's packet time (clock ticks) and each new file's
 * name, so that flows time out and records name their file and packet as with one worker.
 * Live with one worker (-j 1): the caller's thread polls every interface and runs the
 * worker on the packets in libpcap's buffer, no copy and no hand-over. Live with nw >= 2:
 *
 * capture thread (one per interface) ─► dispatch by a symmetric hash of the IP address pair ─►
 * one single-producer/single-consumer ring per (interface, worker) ─► worker thread ─► decode ...
 *
 * Owns the threads, the rings and the copies of the packets in them. The workers' sensors are
 * the caller's (worker_sensors_new); they share one read-only key store, which a hot reload
 * replaces under them between two batches, one token_replay table (internally locked: a
 * replayed token's clients may be hashed to different workers) and one distinct-token counter
 * (hll.h, lock-free). Nothing is locked per packet: a ring is a byte buffer with two atomic
 * positions, a full ring drops the packet (counted as tokenwatch.capture.worker_drops), and a
 * worker only sleeps on its condition variable when all its rings are empty.
 */
#ifndef TW_WORKER_H
#define TW_WORKER_H

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "sensor.h"

/* Ring bytes per interface, shared out among the workers (each ring at least
 * WORKER_RING_MIN): half a second of a saturated 1 Gbit/s link, so that workers which lose
 * their CPU for a while, or verify a burst of new tokens, do not drop packets. */
#define WORKER_RING_TOTAL (64u << 20)
#define WORKER_RING_MIN (8u << 20)

/* One packet in a ring, followed by caplen bytes, padded to a multiple of 8:
 *
 *   tail                                   head
 *    v                                      v
 *   [hdr|data..pad][hdr|data..pad]...       free ...  [PAD to end of buffer]
 *
 * A record never wraps: when it does not fit before the end of the buffer a padding marker
 * (size with WORKER_PAD set) fills the rest and the record starts at offset 0. */
struct worker_pkt {
    uint32_t size;      /* bytes of the record, header included; WORKER_PAD: skip to the end */
    uint32_t caplen, wirelen;
    int32_t linktype;
    uint64_t ts_us;
    uint32_t iface;     /* live: index into the interface list */
    uint32_t kind;      /* WORKER_REC_*: a packet, or (reading files) a clock tick or a new file */
    uint64_t cnt;       /* reading files: the packet's number in its file, from 1 (pcap_cnt) */
    uint64_t seq;       /* reading files: the packet's number in the whole run (a tick: that of
                           the packet it tells the time of) */
};
#define WORKER_PAD 0x80000000u

/* What a record carries. Live rings carry packets only. */
enum {
    WORKER_REC_PACKET = 0,
    WORKER_REC_TICK,        /* no data: the reader's packet time reached ts_us (caplen 0);
                               iface = 1 when that packet decoded to a flow (the time at which
                               a single sensor would have expired flows) */
    WORKER_REC_FILE,        /* data: the next capture file's name, NUL-terminated */
};

struct worker_ring {
    _Alignas(64) _Atomic uint64_t head;   /* bytes ever written (producer) */
    _Alignas(64) _Atomic uint64_t tail;   /* bytes ever consumed (consumer) */
    uint64_t head_cache;                  /* consumer's last look at head */
    _Alignas(64) uint64_t tail_cache;     /* producer's last look at tail */
    _Atomic uint64_t drops;               /* packets refused because the ring was full */
    uint8_t *buf;
    size_t cap;                           /* power of two */
};

/* A ring of cap bytes (rounded up to a power of two, at least 64 KiB). NULL on no memory.
 * Free with worker_ring_free(). */
struct worker_ring *worker_ring_new(size_t cap);
void worker_ring_free(struct worker_ring *r);

/* Producer: copies one packet in. Returns 0, or -1 when it does not fit (ring full, or a record
 * over half the ring): the packet is dropped and counted in r->drops. */
int worker_ring_push(struct worker_ring *r, const struct worker_pkt *hdr, const uint8_t *data);
/* As worker_ring_push, but a record that does not fit now is not counted as dropped: the
 * caller (reading files, which never drops) waits and tries again. */
int worker_ring_try_push(struct worker_ring *r, const struct worker_pkt *hdr,
                         const uint8_t *data);

/* Consumer: the oldest record (its bytes follow the header), or NULL when the ring is empty.
 * Valid until worker_ring_release(), which frees its space for the producer. */
const struct worker_pkt *worker_ring_peek(struct worker_ring *r);
void worker_ring_release(struct worker_ring *r, const struct worker_pkt *p);

/* The worker (0..nworkers-1) for a captured packet: a keyed hash over the IP address pair of
 * the (innermost) IP header, the same for both directions. Addresses only, not ports: a
 * non-first IP fragment carries no ports, and every fragment of a datagram must reach the
 * worker whose defragmenter holds the rest and whose flow table holds the flow the reassembled
 * datagram belongs to. Non-IP packets go to worker 0. key: 16 bytes (SipHash). cfg (may be
 * NULL: defaults) supplies the tunnel ports, so the packet is decoded as the workers decode it. */
size_t worker_pick(const uint8_t *data, uint32_t caplen, int linktype, const uint8_t key[16],
                   size_t nworkers, const struct config *cfg);
/* As worker_pick; *flow (may be NULL) is 1 when the packet decoded whole (DECODE_OK), that is
 * when a sensor looks the flows up for it and expires idle ones first. */
size_t worker_pick_flow(const uint8_t *data, uint32_t caplen, int linktype,
                        const uint8_t key[16], size_t nworkers, const struct config *cfg,
                        int *flow);

/* The sensors of a -j N run (live or reading files), into sv[0..nw-1]: sensor i takes its key
 * store from rl (reader slot i; rl must have nw slots and outlive the sensors), and all share one
 * token_replay table made here when policy.replay is on, and one distinct-token counter (both
 * owned by sv[0], which frees them and reports their counters).
 * Returns 0, or -1 with a one-line reason in err and *exit_code as sensor_new's (every sensor
 * already built is freed, sv zeroed). Free with worker_sensors_free(). */
struct reload;
int worker_sensors_new(struct config *cfg, const char *logdir, struct reload *rl, size_t nw,
                       struct sensor **sv, char *err, size_t errlen, int *exit_code);
void worker_sensors_free(struct sensor **sv, size_t nw);
/* The end of the process: sensor_quit for each (borrowers first), the memory left to exit. */
void worker_sensors_quit(struct sensor **sv, size_t nw);

/* What a run needs beyond the capture settings. */
struct worker_opts {
    struct capture_opts cap;
    uint32_t stats_interval;        /* live: seconds between stats records; 0 = only the final */
    const char *user, *group;       /* live: drop privileges to these once the handles are open */
    volatile sig_atomic_t *reopen;  /* set by a SIGHUP handler; cleared once taken */
    int fanout;                     /* live, nw >= 2: capture.fanout (enum capture_fanout) */
};

/* What a run hands back for the exit summary (summary.h). */
struct worker_result {
    struct sensor_counters total;   /* every worker's counters after the outputs closed, summed,
                                       with the capture's own (kernel counters, ring drops) */
    int outputs_failed;             /* the run went well but an output lost records to a write
                                       error (said on stderr): the run returns 1 */
};

/* Reads the capture files (capture_offline) through nw >= 1 sensors (built with
 * worker_sensors_new) until they end or *stop is set, reopening the outputs when *o->reopen is
 * set; then ends the run (see above; the final stats record is stamped with the last packet's
 * time). Returns as capture_offline(), or 1 when an output failed or the worker threads cannot
 * start. The sensors stay the caller's (free them after the summary). */
int worker_offline(struct sensor **sv, size_t nw, char *const *paths, size_t n,
                   const struct worker_opts *o, volatile sig_atomic_t *stop,
                   struct worker_result *res);

/* Captures on the interfaces with nw >= 1 workers until *stop is set or an interface fails;
 * sensors[i] is worker i's (built by the caller with worker_sensors_new). Drops privileges
 * (o->user/group) after the handles are open and before any thread starts. SIGHUP (*o->reopen)
 * makes every worker reopen its outputs between two packets; every o->stats_interval seconds
 * one stats record with the workers' counters summed is written (through whichever worker
 * completes the round). On return every sensor is finished and its outputs closed, and the
 * final stats record has been written through sensors[0]. Call with SIGINT/SIGTERM/SIGHUP
 * handled by the caller's thread: the threads started here block them. Returns 0, or 1 when an
 * interface cannot be opened or disappears (one line on stderr), privileges cannot be dropped
 * or an output failed, 2 for a bad filter; when the capture could not start, no record is
 * written and res is zero. */
int worker_live(struct sensor **sensors, size_t nw, char *const *ifaces, size_t nif,
                const struct worker_opts *o, volatile sig_atomic_t *stop,
                struct worker_result *res);

#endif
