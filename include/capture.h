/* capture.h — libpcap front end: offline files and directories, live interfaces.
 *
 * Pipeline: [capture] ─► decode. Owns the pcap handles it opens; hands each packet to
 * sensor_packet() and closes the handle before returning. Errors are reported on stderr with
 * the file or interface named, counted in the sensor's stats, and never abort an offline run.
 * Live capture with one worker runs here on the calling thread; with several workers
 * (worker.h) the capture threads use the helpers below to open and read the interfaces.
 */
#ifndef TW_CAPTURE_H
#define TW_CAPTURE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <pcap/pcap.h>

#include "sensor.h"

struct capture_opts {
    const char *bpf;   /* filter expression or NULL */
    int verbose;       /* -v count minus -q count */
    /* live only (capture.* and engine.stats-interval in the configuration): */
    uint32_t snaplen;               /* 0 = 262144 */
    uint64_t buffer_size;           /* kernel buffer bytes; 0 = libpcap's default */
    int promisc;
    int immediate;                  /* 0: packets come in blocks, delivered at the latest after
                                       CAPTURE_TIMEOUT_MS (higher throughput) */
    uint32_t stats_interval;        /* seconds between stats records; 0 = only the final one */
    const char *user, *group;       /* drop privileges to these once the handles are open */
    volatile sig_atomic_t *reopen;  /* set by a SIGHUP handler; cleared once outputs reopened */
    int progress;                   /* offline: a progress line per regular file on stderr
                                       (main sets it when stderr is a terminal and not -q) */
};

/* The pcap read timeout without immediate mode: bounds how long a packet can wait in a
 * half-filled kernel block (TPACKET_V3) before the sensor sees it. */
#define CAPTURE_TIMEOUT_MS 10

/* Reads every path in order; a directory contributes its regular files in name order.
 * Returns 0 when every file was read (a file damaged part-way is read up to the damage, warned
 * about, and still counts as read), 1 when any could not be opened or used, 2 for a bad filter.
 * Once *stop is non-zero (SIGINT/SIGTERM) it reads no further packet and returns as if every
 * input had ended there; the caller runs sensor_finish() as after the end of the input. */
int capture_offline(struct sensor *s, char *const *paths, size_t n, const struct capture_opts *o,
                    volatile sig_atomic_t *stop);

/* Captures on the interfaces with one worker (the calling thread) until *stop becomes non-zero,
 * writing a stats record every o->stats_interval seconds and reopening the outputs when
 * *o->reopen is set. Returns 0, or 1 when an interface cannot be opened or disappears (one line
 * on stderr), or privileges cannot be dropped, 2 for a bad filter. The caller runs
 * sensor_finish() afterwards; the final kernel counters are in s->st. */
int capture_live(struct sensor *s, char *const *ifaces, size_t n, const struct capture_opts *o,
                 volatile sig_atomic_t *stop);

/* Opens, configures (snaplen, buffer, promisc, immediate/timeout, BPF) and activates one
 * interface in non-blocking mode. Returns the handle (close with pcap_close), or NULL with one
 * line on stderr and *rc = 1 (interface) or 2 (filter). */
pcap_t *capture_open_iface(const char *iface, const struct capture_opts *o, int *rc);

/* One non-blocking read of up to max packets (-1: what is there). revents: what poll() said
 * about the handle's fd. Returns the packet count, or -1 when the interface failed or vanished
 * (one line on stderr naming it): a vanished interface must end the run, not spin. */
int capture_read(pcap_t *p, const char *iface, int max, short revents, pcap_handler cb,
                 u_char *user);

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

/* Live housekeeping on a worker's own sensor, between packets: */
/* SIGHUP: reopens every output; failures are reported on stderr, the old file stays in use. */
void capture_reopen_outputs(struct sensor *s);
/* About once a second: expires idle flows at wall-clock time (a live sensor's packet time) so
 * their events are not held back while traffic is quiet, and flushes the outputs. */
void capture_idle(struct sensor *s, uint64_t wall_us);

uint64_t capture_wall_us(void);  /* CLOCK_REALTIME, microseconds */
uint64_t capture_mono_ms(void);  /* CLOCK_MONOTONIC, milliseconds */

#endif
