/* capture.h — libpcap front end: opens, configures and reads capture handles (offline files and
 * directories, live interfaces) and reports their counters.
 *
 * Pipeline: [capture] ─► decode. Owns the pcap handles it opens. It runs none of the sensor's
 * timers and acts on no signal but the stop flag that ends a read: the run loop (worker.h) calls
 * in here to read packets and hands them to sensor_packet() itself. Errors are reported on
 * stderr with the file or interface named; offline they are counted in the sensor's stats and
 * never abort the run.
 */
#ifndef TW_CAPTURE_H
#define TW_CAPTURE_H

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <pcap/pcap.h>

#include "sensor.h"

struct capture_opts {
    const char *bpf;   /* filter expression or NULL */
    int verbose;       /* -v count minus -q count */
    /* live only (capture.* in the configuration): */
    uint32_t snaplen;               /* 0 = 262144 */
    uint64_t buffer_size;           /* kernel buffer bytes; 0 = libpcap's default */
    int promisc;
    int immediate;                  /* 0: packets come in blocks, delivered at the latest after
                                       CAPTURE_TIMEOUT_MS (higher throughput) */
    int progress;                   /* offline: a progress line per regular file on stderr
                                       (main sets it when stderr is a terminal and not -q) */
};

/* The pcap read timeout without immediate mode: bounds how long a packet can wait in a
 * half-filled kernel block (TPACKET_V3) before the sensor sees it. */
#define CAPTURE_TIMEOUT_MS 10

static inline uint64_t capture_ts_us(const struct pcap_pkthdr *h)
{
    return (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
}

/* ---- offline ---------------------------------------------------------------------------- */

#define CAPTURE_PROGRESS_EVERY 512  /* packets between two looks at the clock */

/* The progress line of one file (stderr a terminal): bytes read of its size, MB/s, ETA. */
struct capture_progress {
    FILE *f;                 /* the capture's stream, NULL: no progress for this file */
    const char *name;        /* the file's base name */
    off_t size;
    uint64_t start_ms, last_ms;
};

/* One capture file open for reading, handed to the caller's reader (capture_offline). */
struct capture_file {
    pcap_t *p;
    const char *path;
    int dlt;
    uint64_t npkts;          /* packets read so far */
    int last;                /* what pcap_next_ex last returned (0 before the first read) */
    struct capture_progress pr;
};

/* Redraws the progress line when it is due (at most every 250 ms). */
void capture_progress_tick(struct capture_progress *pr);

/* The next packet of f, as pcap_next_ex(): 1 with *h and *data valid until the next call, -2 at
 * the end of the file, -1 when it is damaged (capture_offline says so once the reader returns). */
static inline int capture_file_next(struct capture_file *f, struct pcap_pkthdr **h,
                                    const u_char **data)
{
    f->last = pcap_next_ex(f->p, h, data);
    if (f->last == 1 && ++f->npkts % CAPTURE_PROGRESS_EVERY == 0 && f->pr.f)
        capture_progress_tick(&f->pr);
    return f->last;
}

/* Reads f's packets (capture_file_next) until it ends or the reader chooses to stop. */
typedef void (*capture_reader_fn)(void *arg, struct capture_file *f);

/* Opens every path in order (a directory contributes its regular files in name order) and hands
 * each file, filter set, to read(arg, f); then reports how it ended and closes it, adding one to
 * *errors (stats capture.errors) for each file that could not be read or was damaged. Returns 0
 * when every file was read (a file damaged part-way is read up to the damage, warned about, and
 * still counts as read), 1 when any could not be opened or used, 2 for a bad filter. Once *stop is
 * non-zero (SIGINT/SIGTERM) it opens no further file, and a reader that looks at it before each
 * packet ends the run as if every input had ended there. */
int capture_offline(uint64_t *errors, char *const *paths, size_t n, const struct capture_opts *o,
                    volatile sig_atomic_t *stop, capture_reader_fn reader, void *arg);

/* ---- live ------------------------------------------------------------------------------- */

/* Opens, configures (snaplen, buffer, promisc, immediate/timeout, BPF) and activates one
 * interface in non-blocking mode. Returns the handle (close with pcap_close), or NULL with one
 * line on stderr and *rc = 1 (interface) or 2 (filter). */
pcap_t *capture_open_iface(const char *iface, const struct capture_opts *o, int *rc);

/* One non-blocking read of up to max packets (-1: what is there). revents: what poll() said
 * about the handle's fd. Returns the packet count, or -1 when the interface failed or vanished
 * (one line on stderr naming it, unless *said was already set: several handles of one run on an
 * interface that vanished say it once; said may be NULL): a vanished interface must end the
 * run, not spin. */
int capture_read(pcap_t *p, const char *iface, int max, short revents, pcap_handler cb,
                 u_char *user, atomic_int *said);

/* Kernel counters of one handle: packets, drops, interface drops. pcap_stats() counts in 32
 * bits and wraps (after 4.3 G packets: under 8 hours at 150 kpps); sampled at least once per
 * wrap period, the deltas modulo 2^32 add up to 64-bit totals that do not. Zero-initialise. */
struct capture_kstats {
    unsigned int last[3];
    uint64_t total[3];
};
/* Samples p (a no-op when pcap_stats fails) and brings k->total up to date. */
void capture_kstats_update(pcap_t *p, struct capture_kstats *k);
/* The arithmetic of one sample: now[] as pcap_stats() returned them. */
void capture_kstats_add(struct capture_kstats *k, const unsigned int now[3]);

uint64_t capture_wall_us(void);  /* CLOCK_REALTIME, microseconds */
uint64_t capture_mono_ms(void);  /* CLOCK_MONOTONIC, milliseconds */

#endif
