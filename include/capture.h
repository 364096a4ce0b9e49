/* capture.h — libpcap front end: offline files and directories, live interfaces.
 *
 * Pipeline: [capture] ─► decode. Owns the pcap handles it opens; hands each packet to
 * sensor_packet() and closes the handle before returning. Errors are reported on stderr with
 * the file or interface named, counted in the sensor's stats, and never abort the run.
 */
#ifndef TW_CAPTURE_H
#define TW_CAPTURE_H

#include <signal.h>
#include <stddef.h>

#include "sensor.h"

struct capture_opts {
    const char *bpf;   /* filter expression or NULL */
    int verbose;       /* -v count minus -q count */
};

/* Reads every path in order; a directory contributes its regular files in name order.
 * Returns 0 when every file was read (a file damaged part-way is read up to the damage, warned
 * about, and still counts as read), 1 when any could not be opened or used, 2 for a bad filter. */
int capture_offline(struct sensor *s, char *const *paths, size_t n, const struct capture_opts *o);

/* Captures on the interfaces until *stop becomes non-zero. Returns 0, or 1 when an interface
 * cannot be opened or disappears, 2 for a bad filter. */
int capture_live(struct sensor *s, char *const *ifaces, size_t n, const struct capture_opts *o,
                 volatile sig_atomic_t *stop);

#endif
