/* worker_run.h — what the run loops of sensor/capture share (worker.c: live and the end of every
 * run; worker_offline.c: reading files). Private to the folder.
 *
 * Pipeline: none of its own; the steps between and after packets that worker.h describes. Owns
 * nothing.
 */
#ifndef TW_WORKER_RUN_H
#define TW_WORKER_RUN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "worker.h"

struct live;

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
