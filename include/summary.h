/* summary.h — the exit summary: one line on stderr for the person who ran the sensor (SPEC §1
 * diagnostics; main prints it unless -q or the run failed).
 *
 *   tokenwatch: 127 packets, 0 dropped, 12 flows, 12 tokens (12 distinct), 4 alerts
 *   (findings: key_revoked 1, ...)[; N capture errors][; stopped by a signal][; kernel: ...]
 *
 * "N dropped" is every loss of the run added up, and "0 dropped" means nothing at all was lost.
 * When N is not 0 the kinds that lost something follow in parentheses, each with its count in
 * its own unit (SUMMARY_LOSSES below, and the stats record member that counts the same).
 */
#ifndef TW_SUMMARY_H
#define TW_SUMMARY_H

#include <stdint.h>
#include <stdio.h>

#include "sensor_counters.h"

/* Every kind of loss, in the order the summary names them (count, unit; stats record member):
 * kernel (packets; capture.kernel_drops), interface (packets; capture.kernel_ifdrops), worker
 * queue (packets; tokenwatch.capture.worker_drops), flow memcap (flows; flow.memcap), stream
 * memcap (segments; tcp.segment_memcap_drop), defrag memcap (fragments;
 * tokenwatch.defrag.memcap_drops), body limit (bodies cut; tokenwatch.body.truncated), http
 * memcap (heads or transactions; tokenwatch.http.memcap), http head overflow (heads;
 * tokenwatch.http.head_overflow), output dropped (records; eve.dropped), output errors
 * (records; eve.errors). */
#define SUMMARY_NLOSSES 11

struct summary_loss {
    const char *name;
    uint64_t n;
};

/* Fills out[] with c's losses, in the order above; returns their sum (0: nothing lost). */
uint64_t summary_losses(const struct sensor_counters *c, struct summary_loss out[SUMMARY_NLOSSES]);

/* Writes the line (with its newline) to f. live: add the kernel and worker counters in full;
 * stopped: an offline run ended by SIGINT/SIGTERM before the end of its input. */
void summary_print(FILE *f, const struct sensor_counters *c, int live, int stopped);

#endif
